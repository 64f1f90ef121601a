/**
 * The local coordinator's directory is its daemons' alone: 0700 (narrowed at open if it was made
 * wider), every file in it 0600 and every directory 0700. (As another user on the host:
 * test/security/local-coordinator.test.ts.)
 */
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCoordinator } from './local.js';

let base: string;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'galaxy-local-modes-'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Every path under `dir` with its permission bits. */
async function modes(dir: string): Promise<Map<string, number>> {
  const found = new Map<string, number>([[dir, (await stat(dir)).mode & 0o7777]]);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    found.set(path, (await stat(path)).mode & 0o7777);
  }
  return found;
}

describe('LocalCoordinator permissions', () => {
  it('makes its directory 0700, its files 0600 and its directories 0700', async () => {
    const dir = join(base, 'coord');
    const coord = await LocalCoordinator.open(dir);
    try {
      await coord.put('/galaxy/tenancy/users/admin', '{"admin":true}');
      await coord.putEphemeral('/galaxy/election/master/c-0000000000', '127.0.0.1:5050');
      const seen = await modes(dir);
      expect(seen.size).toBeGreaterThan(8);
      for (const [path, mode] of seen) {
        const isDir = (await stat(path)).isDirectory();
        expect(mode.toString(8), path).toBe(isDir ? '700' : '600');
      }
    } finally {
      await coord.close();
    }
  });

  it('narrows a directory that was made wider', async () => {
    const dir = join(base, 'wide');
    await mkdir(join(dir, 'tree'), { recursive: true });
    await chmod(dir, 0o755);
    await chmod(join(dir, 'tree'), 0o777);
    const coord = await LocalCoordinator.open(dir);
    await coord.close();
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'tree'))).mode & 0o777).toBe(0o700);
  });
});
