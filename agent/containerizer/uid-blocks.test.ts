import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { judgeClaim, parseUidRange, UidBlocks, USERNS_SIZE } from './uid-blocks.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-uids-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('uid blocks', () => {
  it('parses --uid-range FIRST[:COUNT], above the host users and below 2^32', () => {
    expect(parseUidRange(undefined)).toEqual({ first: 1_000_000, count: 16_384 });
    expect(parseUidRange('2000000:10')).toEqual({ first: 2_000_000, count: 10 });
    for (const bad of ['1000', '-5', 'x', '2000000:0', '4294000000:100'])
      expect(() => parseUidRange(bad), bad).toThrow(/GALAXY_E_INVALID_ARGUMENT: --uid-range/);
  });

  it("keeps a live container's claim, drops a dead one's, and a gone agent's; leaves another agent's", () => {
    const live = new Set(['c1']);
    const exists = (d: string) => d !== '/gone';
    expect(judgeClaim({ owner: '/me', container: 'c1' }, '/me', live, exists)).toBe('adopt');
    expect(judgeClaim({ owner: '/me', container: 'c2' }, '/me', live, exists)).toBe('drop');
    expect(judgeClaim({ owner: '/gone', container: 'c1' }, '/me', live, exists)).toBe('drop');
    expect(judgeClaim({ owner: '/other', container: 'c1' }, '/me', live, exists)).toBe('foreign');
  });

  it('never gives one block to two live containers, not even of two agents', async () => {
    const range = { first: 1_000_000, count: 3 };
    const a = new UidBlocks(range, tmpdir(), dir);
    const b = new UidBlocks(range, '/', dir);
    const bases = [await a.claim('a1'), await b.claim('b1'), await a.claim('a2')];
    expect(new Set(bases).size).toBe(3);
    expect(bases.every((base) => (base - range.first) % USERNS_SIZE === 0)).toBe(true);
    await expect(b.claim('b2')).rejects.toThrow(/no free uid range/);
    expect((await stat(join(dir, String(bases[0])))).mode & 0o777).toBe(0o600);
    await a.release('a1');
    expect(await b.claim('b2')).toBe(bases[0]);
  });

  it('after a restart, adopts the claims of live containers and frees the others; takes over stale ones', async () => {
    const range = { first: 1_000_000, count: 4 };
    const before = new UidBlocks(range, tmpdir(), dir);
    const kept = await before.claim('alive');
    await before.claim('ended');
    const stale = new UidBlocks(range, join(dir, 'removed-agent'), dir);
    await stale.claim('s1');
    const after = new UidBlocks(range, tmpdir(), dir);
    await after.recover(new Set(['alive']));
    expect(after.baseOf('alive')).toBe(kept);
    const owners = await Promise.all(
      (await readdir(dir)).filter((n) => /^\d+$/.test(n)).map((n) => readFile(join(dir, n), 'utf8')),
    );
    expect(owners.map((o) => (JSON.parse(o) as { container: string }).container)).toEqual(['alive']);
    // Every other block is free again, for this agent as for another.
    const other = new UidBlocks(range, '/', dir);
    const taken = [await other.claim('x'), await other.claim('y'), await other.claim('z')];
    expect(taken).not.toContain(kept);
  });
});
