/**
 * Durable writes: `writeAtomic` fsyncs the new file before renaming it over the old one, then
 * fsyncs the directory, so the write survives a crash of the machine (checked on the real kernel:
 * the system calls of a process that writes, traced with strace). A reader sees the old content or
 * the new, and a failed write leaves no temporary file behind.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tornReason, writeAtomic } from './files.js';

const run = promisify(execFile);
const BUILT = fileURLToPath(new URL('../dist/core/files.js', import.meta.url));

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-files-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The file-system calls of `node -e <script>`, in order, as strace prints them. */
async function traced(script: string): Promise<string[]> {
  const log = join(dir, 'strace.log');
  await run('strace', [
    '-f',
    '-o',
    log,
    '-e',
    'trace=openat,fsync,fdatasync,rename,renameat,renameat2',
    process.execPath,
    '--input-type=module',
    '-e',
    script,
  ]);
  return (await readFile(log, 'utf8')).split('\n').map((line) => line.replace(/^\d+\s+/, ''));
}

describe('writeAtomic', () => {
  it('fsyncs the file, renames it into place, then fsyncs the directory', async () => {
    const target = join(dir, 'state', 'record.json');
    const calls = await traced(
      `import { writeAtomic } from ${JSON.stringify(BUILT)}; await writeAtomic(${JSON.stringify(target)}, 'v1');`,
    );
    const tmpOpen = calls.findIndex((c) => c.startsWith('openat(') && c.includes(`${target}.`) && c.includes('.tmp"'));
    expect(tmpOpen, calls.join('\n')).toBeGreaterThanOrEqual(0);
    const tmpFd = /= (\d+)$/.exec(calls[tmpOpen] ?? '')?.[1];
    const renamed = calls.findIndex((c) => /^rename(at2?)?\(/.test(c) && c.includes(`"${target}"`));
    expect(renamed).toBeGreaterThan(tmpOpen);
    const fileSync = calls.findIndex(
      (c, i) => i > tmpOpen && /^f(data)?sync\(/.test(c) && c.startsWith(`fsync(${tmpFd})`),
    );
    expect(fileSync, 'the file is fsynced before the rename').toBeGreaterThan(tmpOpen);
    expect(fileSync).toBeLessThan(renamed);
    const dirOpen = calls.findIndex(
      (c, i) => i > renamed && c.startsWith('openat(') && c.includes(`"${join(dir, 'state')}"`),
    );
    expect(dirOpen, 'the directory is opened after the rename').toBeGreaterThan(renamed);
    const dirFd = /= (\d+)$/.exec(calls[dirOpen] ?? '')?.[1];
    expect(
      calls.slice(dirOpen).some((c) => c.startsWith(`fsync(${dirFd})`)),
      'the directory is fsynced',
    ).toBe(true);
    expect(await readFile(target, 'utf8')).toBe('v1');
  });

  it('replaces the old content whole and leaves no temporary file', async () => {
    const target = join(dir, 'record.json');
    await writeAtomic(target, 'old');
    await writeAtomic(target, 'new', { ownerOnly: true });
    expect(await readFile(target, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['record.json']);
  });

  it('leaves no temporary file when the write fails', async () => {
    // A directory in place of the target: the rename fails after the temporary file was written.
    await mkdir(join(dir, 'taken'));
    await writeFile(join(dir, 'taken', 'inside'), 'x');
    await expect(writeAtomic(join(dir, 'taken'), 'y')).rejects.toThrow();
    await writeFile(join(dir, 'file'), 'x');
    expect((await readdir(dir)).sort()).toEqual(['file', 'taken']);
  });
});

describe('tornReason', () => {
  it('tells an empty file from an unreadable one', () => {
    expect(tornReason('  \n')).toBe('the file is empty');
    expect(tornReason('{"va', new SyntaxError('Unexpected end of JSON input'))).toBe(
      'the file cannot be read (Unexpected end of JSON input)',
    );
  });
});
