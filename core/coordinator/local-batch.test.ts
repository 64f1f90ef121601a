/**
 * Group commit of the local coordinator (local-batch.ts): writes queued together share one lock,
 * one stamp and one journal append, and still behave as if made one after another.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCoordinator } from './local.js';
import { ChangeJournal } from './local-journal.js';
import { SYNC_MAX_RECORDS } from './local-batch.js';

let dir: string;
let coord: LocalCoordinator;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay2-local-batch-'));
  coord = await LocalCoordinator.open(dir);
});

afterEach(async () => {
  await coord.close();
  await rm(dir, { recursive: true, force: true });
});

const stampOf = async (): Promise<number> => Number(await readFile(join(dir, 'stamp'), 'utf8'));

describe('LocalCoordinator group commit', () => {
  it('commits writes queued together under one stamp, each key journaled', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `/replay2/jobs/j${i}`);
    await Promise.all(keys.map((key) => coord.put(key, key)));
    // The first write goes alone (nothing queued yet), the 49 queued behind it in one batch.
    expect(await stampOf()).toBeLessThanOrEqual(2);
    for (const key of keys) expect((await coord.get(key))?.value).toBe(key);
    const journal = await new ChangeJournal(join(dir, 'changes')).read(undefined, await stampOf(), Infinity);
    expect([...journal.keys].sort()).toEqual([...keys].sort());
  });

  it('gives writes of one key in one batch their versions in order, the last value stored', async () => {
    await coord.put('/replay2/k', 'first');
    const versions = await Promise.all(Array.from({ length: 10 }, (_, i) => coord.put('/replay2/k', `v${i}`)));
    expect(versions).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await coord.get('/replay2/k')).toEqual({ value: 'v9', version: 10 });
    // A second session (its own reads from disk) sees the same.
    const other = await LocalCoordinator.open(dir);
    try {
      expect(await other.get('/replay2/k')).toEqual({ value: 'v9', version: 10 });
    } finally {
      await other.close();
    }
  });

  it('lets one of two creates of a key in one batch win; the loser fails alone and changes nothing', async () => {
    await coord.put('/replay2/first', 'x'); // the next writes queue behind this one: one batch
    const outcomes = await Promise.allSettled([
      coord.put('/replay2/a', 'one', { expectedVersion: -1 }),
      coord.put('/replay2/a', 'two', { expectedVersion: -1 }),
      coord.put('/replay2/b', 'b', { expectedVersion: 7 }),
      coord.put('/replay2/c', 'c'),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    for (const rejected of [outcomes[1], outcomes[2]])
      expect((rejected as PromiseRejectedResult).reason).toMatchObject({ code: 'GALAXY_E_COORD_CONFLICT' });
    expect((await coord.get('/replay2/a'))?.value).toBe('one');
    expect(await coord.get('/replay2/b')).toBeUndefined();
    expect((await coord.get('/replay2/c'))?.value).toBe('c');
  });

  it('applies a put and a delete of one key in one batch in order, and tells the watches', async () => {
    const heard: string[] = [];
    const unwatch = coord.watch('/replay2', (change) => heard.push(`${change.key}=${change.value ?? '-'}`));
    try {
      await coord.put('/replay2/x', 'old');
      await Promise.all([coord.put('/replay2/x', 'new'), coord.delete('/replay2/x'), coord.put('/replay2/y', 'y')]);
      expect(await coord.get('/replay2/x')).toBeUndefined();
      expect(await coord.list('/replay2')).toEqual(['y']);
      expect(heard).toEqual(['/replay2/x=old', '/replay2/x=new', '/replay2/x=-', '/replay2/y=y']);
    } finally {
      unwatch();
    }
  });

  it('holds the lock across no turn of its event loop (a busy process holds it for its I/O alone)', async () => {
    const lock = join(dir, 'lock');
    let turns = 0;
    let heldInTurn = 0;
    let watching = true;
    // Runs once per turn of the event loop: were the lock held across a turn, it would see it.
    const watch = (): void => {
      turns += 1;
      if (existsSync(lock)) heldInTurn += 1;
      if (watching) setImmediate(watch);
    };
    setImmediate(watch);
    try {
      for (let i = 0; i < 20; i += 1) await coord.put(`/replaydelay/k${i % 3}`, `v${i}`);
      const some = Array.from({ length: SYNC_MAX_RECORDS }, (_, i) => `/replaydelay/batch/b${i}`);
      await Promise.all(some.map((key) => coord.put(key, key)));
      await coord.delete('/replaydelay/k0');
    } finally {
      watching = false;
    }
    expect(turns).toBeGreaterThan(20); // the loop did come round between the writes
    expect(heldInTurn).toBe(0);
    expect((await coord.get('/replaydelay/k1'))?.value).toBe('v19');
    expect(await coord.get('/replaydelay/k0')).toBeUndefined();
    expect((await coord.get('/replaydelay/batch/b0'))?.value).toBe('/replaydelay/batch/b0');
  });
});
