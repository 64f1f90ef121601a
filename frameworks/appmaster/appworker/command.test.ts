import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAlive, killWithEnv } from '../../../test/helpers/processes.js';
import { MAX_OUTPUT_BYTES, runCommand, type CommandOptions } from './command.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-command-'));
});

afterEach(async () => {
  killWithEnv(`GALAXY_SANDBOX=${dir}`);
  await rm(dir, { recursive: true, force: true });
});

function options(extra: Partial<CommandOptions> = {}): CommandOptions {
  return { cwd: dir, env: { ...process.env, GALAXY_SANDBOX: dir }, timeoutMs: 5000, ...extra };
}

describe('runCommand', () => {
  it('returns the exit code and both outputs', async () => {
    expect(await runCommand('pwd; echo err >&2; exit 7', options())).toEqual({
      exitCode: 7,
      stdout: `${dir}\n`,
      stderr: 'err\n',
      timedOut: false,
      dropped: { stdout: 0, stderr: 0 },
    });
  });

  it('caps stdout and stderr at 1 MiB each', async () => {
    const result = await runCommand('head -c 3000000 /dev/zero | tr "\\0" a; head -c 1100000 /dev/zero >&2', options());
    expect(result.exitCode).toBe(0);
    expect(result.stdout.length).toBe(MAX_OUTPUT_BYTES);
    expect(result.stdout).toMatch(/^a+$/);
    expect(Buffer.byteLength(result.stderr)).toBe(MAX_OUTPUT_BYTES);
    // What was drained past the cap is counted.
    expect(result.dropped).toEqual({ stdout: 3_000_000 - MAX_OUTPUT_BYTES, stderr: 1_100_000 - MAX_OUTPUT_BYTES });
  });

  it('kills the whole process group on timeout, with exit code -1', async () => {
    const began = Date.now();
    const result = await runCommand('sleep 30 & echo $! > child.pid; wait', options({ timeoutMs: 300 }));
    expect(result).toMatchObject({ exitCode: -1, timedOut: true });
    expect(Date.now() - began).toBeLessThan(3000);
    const child = Number(await readFile(join(dir, 'child.pid'), 'utf8'));
    expect(isAlive(child)).toBe(false);
  });

  it('kills the command when its signal aborts', async () => {
    const abort = new AbortController();
    const running = runCommand('sleep 30', options({ signal: abort.signal }));
    setTimeout(() => {
      abort.abort();
    }, 100);
    expect((await running).exitCode).toBe(-1);
  });
});
