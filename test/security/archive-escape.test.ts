/**
 * Attack: archives that try to write outside their destination. Each crafted tarball is unpacked
 * for real (`unpackArchive`, the one function every package, data package and image goes through,
 * and `fetchPackage` as the AppWorker calls it) inside a jail directory whose every other file is
 * checked afterwards: the archive is refused with GALAXY_E_PACKAGE naming the entry, nothing
 * outside the destination changed, and no half-unpacked destination is left behind.
 * (A malicious package through a real AppMaster and AppWorker: pod-boundary.test.ts.)
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { unpackArchive } from '../../core/archive/unpack.js';
import { isGalaxyError } from '../../core/errors.js';
import { fetchPackage, sha256File } from '../../frameworks/appmaster/appworker/package.js';
import { rawTar, writeArchive, type RawEntry } from '../helpers/tarballs.js';
import { gzipSync } from 'node:zlib';

let jail: string;
/** The destination inside the jail; `outside` is its sibling, with a canary in it. */
let dest: string;
let outside: string;
let before: Map<string, string>;

/** Every path under `root` (but `skip`) with what it is: file content, link target or `dir`. */
async function snapshot(root: string, skip: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      if (path === skip) continue;
      const stat = await lstat(path);
      if (stat.isSymbolicLink()) seen.set(path, `-> ${await readlink(path)}`);
      else if (stat.isDirectory()) {
        seen.set(path, 'dir');
        await walk(path);
      } else seen.set(path, `${stat.mode.toString(8)} ${await readFile(path, 'utf8')}`);
    }
  };
  await walk(root);
  return seen;
}

beforeEach(async () => {
  jail = await mkdtemp(join(tmpdir(), 'galaxy-archive-escape-'));
  outside = join(jail, 'etc');
  await mkdir(outside);
  await writeFile(join(outside, 'passwd'), 'root:x:0:0\n');
  dest = join(jail, 'box', 'dest');
  await mkdir(join(jail, 'box'));
  before = await snapshot(jail, dest);
});

afterEach(async () => {
  await rm(jail, { recursive: true, force: true });
});

/** Unpacks `entries` into `dest`; expects a refusal naming `needle`, and nothing changed outside. */
async function expectRefused(entries: readonly RawEntry[], needle: string | RegExp): Promise<void> {
  const archive = await writeArchive(join(jail, 'box', 'evil.tgz'), entries);
  const error: unknown = await unpackArchive(archive, dest, 'evil.tgz').catch((e: unknown) => e);
  expect(isGalaxyError(error, 'GALAXY_E_PACKAGE'), String(error)).toBe(true);
  expect((error as Error).message).toMatch(needle);
  await rm(archive);
  expect(await snapshot(jail, dest), 'nothing outside the destination changed').toEqual(before);
  await expect(lstat(dest), 'no half-unpacked destination').rejects.toThrow(/ENOENT/);
}

describe('archives that try to escape', () => {
  it('the link chain a/x -> .. then esc -> a/x/a/x/../../etc, and a file through it', async () => {
    await expectRefused(
      [
        { path: 'a/', type: 'Directory' },
        { path: 'a/x', type: 'SymbolicLink', linkpath: '..' },
        { path: 'esc', type: 'SymbolicLink', linkpath: 'a/x/a/x/../../etc' },
        { path: 'esc/passwd', body: 'owned\n' },
      ],
      'symlink "esc" points outside the destination',
    );
  });

  it('absolute paths, .. and absolute link targets', async () => {
    await expectRefused([{ path: `${outside}/passwd`, body: 'owned\n' }], /is absolute/);
    await expectRefused([{ path: '../../etc/passwd', body: 'owned\n' }], 'climbs with ".."');
    await expectRefused([{ path: 'ok/../../../etc/passwd', body: 'owned\n' }], 'climbs with ".."');
    await expectRefused([{ path: 'etc', type: 'SymbolicLink', linkpath: outside }], /symlink "etc".*is absolute/);
  });

  it('a symlink out, then a file written through it', async () => {
    await expectRefused(
      [
        { path: 'link', type: 'SymbolicLink', linkpath: '../../etc' },
        { path: 'link/passwd', body: 'owned\n' },
      ],
      'symlink "link" points outside',
    );
  });

  it('a symlink inside, then a file written through it (no extractor may follow links)', async () => {
    await expectRefused(
      [
        { path: 'inner/', type: 'Directory' },
        { path: 'link', type: 'SymbolicLink', linkpath: 'inner' },
        { path: 'link/file', body: 'x' },
      ],
      'entry "link/file" goes through the symlink "link"',
    );
  });

  it('a file replaced by a symlink out (the overwrite trick)', async () => {
    await expectRefused(
      [
        { path: 'passwd', body: 'mine\n' },
        { path: 'passwd', type: 'SymbolicLink', linkpath: `${outside}/passwd` },
        { path: 'passwd', body: 'owned\n' },
      ],
      /symlink "passwd"|replaces a file/,
    );
  });

  it('hard links out of the tree', async () => {
    await expectRefused([{ path: 'shadow', type: 'Link', linkpath: `${outside}/passwd` }], 'hard link "shadow"');
    await expectRefused([{ path: 'shadow', type: 'Link', linkpath: '../../etc/passwd' }], 'hard link "shadow"');
    await expectRefused(
      [
        { path: 'l', type: 'SymbolicLink', linkpath: '.' },
        { path: 'shadow', type: 'Link', linkpath: 'l/../etc/passwd' },
      ],
      'hard link "shadow"',
    );
  });

  it('device nodes and FIFOs', async () => {
    await expectRefused([{ path: 'mem', type: 'CharacterDevice' }], 'is a CharacterDevice');
    await expectRefused([{ path: 'sda', type: 'BlockDevice' }], 'is a BlockDevice');
    await expectRefused([{ path: 'pipe', type: 'FIFO' }], 'is a FIFO');
  });

  it('tar bombs: a header claiming a huge file, too many entries, a gzip of zeros, a gzip in a gzip', async () => {
    await expectRefused([{ path: 'huge', size: 8 * 1024 ** 3 }], /unpacks to more than/);
    const many = Array.from({ length: 60 }, (_, i) => ({ path: `f${i}`, body: 'x' }));
    const archive = await writeArchive(join(jail, 'box', 'many.tgz'), many);
    const error = await unpackArchive(archive, dest, 'many.tgz', { limits: { maxEntries: 50 } }).catch(
      (e: unknown) => e,
    );
    expect(String(error)).toMatch(/more than 50 entries/);
    await rm(archive);
    expect(await snapshot(jail, dest)).toEqual(before);

    // 8 MiB of zeros after a valid entry: the meter cuts it off at the bounds given (about 1 MiB here).
    const zeros = join(jail, 'box', 'zeros.tgz');
    await writeFile(zeros, gzipSync(Buffer.concat([rawTar([{ path: 'a', body: 'a' }]), Buffer.alloc(8 * 1024 ** 2)])));
    const bomb = await unpackArchive(zeros, dest, 'zeros.tgz', { limits: { maxBytes: 1024, maxEntries: 10 } }).catch(
      (e: unknown) => e,
    );
    expect(String(bomb)).toMatch(/decompresses to more than/);
    await rm(zeros);

    const nested = join(jail, 'box', 'nested.tgz');
    await writeFile(nested, gzipSync(gzipSync(rawTar([{ path: 'a', body: 'a' }]))));
    expect(String(await unpackArchive(nested, dest, 'nested.tgz').catch((e: unknown) => e))).toMatch(
      /compressed twice/,
    );
    await rm(nested);
    expect(await snapshot(jail, dest)).toEqual(before);
    await expect(lstat(dest)).rejects.toThrow(/ENOENT/);
  });

  it('a link to itself under a parent the archive does not list is unpacked, not hung on', async () => {
    // node-tar's extractor waits for ever on this one; a package must not be able to stall a deploy.
    const archive = await writeArchive(join(jail, 'box', 'self.tgz'), [
      { path: 'a/a', type: 'SymbolicLink', linkpath: 'a' },
    ]);
    await unpackArchive(archive, dest, 'self.tgz');
    expect(await readlink(join(dest, 'a', 'a'))).toBe('a');
  });

  it('strips setuid, setgid and sticky bits from what it unpacks', async () => {
    const archive = await writeArchive(join(jail, 'box', 'suid.tgz'), [
      { path: 'su', body: '#!/bin/sh\n', mode: 0o6755 },
    ]);
    await unpackArchive(archive, dest, 'suid.tgz');
    expect((await lstat(join(dest, 'su'))).mode & 0o7777).toBe(0o755);
  });

  it('fetchPackage: a refused package leaves neither a release nor its staging behind', async () => {
    const archive = await writeArchive(join(jail, 'box', 'evil.tgz'), [
      { path: 'server.mjs', body: 'ok' },
      { path: 'a/', type: 'Directory' },
      { path: 'a/x', type: 'SymbolicLink', linkpath: '..' },
      { path: 'esc', type: 'SymbolicLink', linkpath: 'a/x/a/x/../../etc' },
    ]);
    const sandbox = join(jail, 'box', 'sandbox');
    await mkdir(sandbox);
    const error = await fetchPackage(
      pathToFileURL(archive).href,
      await sha256File(archive),
      join(sandbox, 'releases', '1'),
    ).catch((e: unknown) => e);
    expect(isGalaxyError(error, 'GALAXY_E_PACKAGE')).toBe(true);
    expect(await readdir(join(sandbox, 'releases'))).toEqual([]);
  });
});
