/**
 * The cost of a local coordinator's watch must follow the writes, not the keys watched (issue 16:
 * an idle master watching 12,000 agent credentials spent most of its CPU re-reading them every
 * 250 ms). Counted, not timed: records read by the polls of a watch over many keys, idle and after
 * one write by "another process" (a bare FileTree, which tells no session in this process).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KeyChange } from './coordinator.js';
import { ChangeJournal, parseJournal } from './local-journal.js';
import { FileTree } from './local-tree.js';
import { LOCAL_POLL_MS, LocalCoordinator } from './local.js';

let dir: string;
const closers: (() => Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-journal-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const close of closers.splice(0)) await close();
  await rm(dir, { recursive: true, force: true });
});

/** Writes `keys` as another process would: journal, records, stamp; no session here is told. */
async function writeElsewhere(tree: FileTree, keys: string[], value: string): Promise<void> {
  await tree.commit(keys, async (stamp) => {
    for (const key of keys) await tree.write(key, { value, version: 0, stamp });
  });
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await sleep(25);
  expect(check()).toBe(true);
}

describe('the local coordinator change journal', () => {
  it('parses up to the committed stamp and never past an unfinished line', () => {
    const text = '3 /a\n4 /b\n5 /c\n6 /d';
    expect(parseJournal(text, 4)).toEqual({ keys: new Set(['/a', '/b']), consumed: 10, stamp: 4, bad: false });
    expect(parseJournal(text, 9)).toMatchObject({ keys: new Set(['/a', '/b', '/c']), consumed: 15, stamp: 5 });
    expect(parseJournal('x /a\n7 /b\n', 9)).toMatchObject({ keys: new Set(['/b']), bad: true });
  });

  it('a reader of a replaced (rotated) journal is told to scan in full', async () => {
    const journal = new ChangeJournal(join(dir, 'changes'), 64);
    await journal.append(1, ['/k/one', '/k/two']);
    const first = await journal.read(undefined, 1);
    expect(first.complete).toBe(false); // no cursor yet: a full scan sets the baseline
    await journal.append(2, ['/k/three']);
    const second = await journal.read(first.cursor, 2);
    expect(second).toMatchObject({ complete: true, keys: new Set(['/k/three']) });
    for (let stamp = 3; stamp < 8; stamp++) await journal.append(stamp, ['/k/a-rather-long-key-name']);
    const rotated = await journal.read(second.cursor, 7);
    expect(rotated.complete).toBe(false);
    // A stamp the journal cannot explain (a writer that does not journal): scan in full too.
    expect((await journal.read(rotated.cursor, 8)).complete).toBe(false);
  });

  it('a reader starting afresh reads only the end of a long journal, and finds where newer lines begin', async () => {
    const journal = new ChangeJournal(join(dir, 'changes'));
    const keys = Array.from({ length: 5000 }, (_, i) => `/galaxy/tenancy/agent-credentials/sim-${i}`);
    for (let stamp = 1; stamp <= 5000; stamp += 500) await journal.append(stamp, keys.slice(stamp - 1, stamp + 499));
    await journal.append(5001, ['/w/in-flight']); // journaled, its stamp not yet committed
    const fresh = await journal.read(undefined, 4501);
    expect(fresh.complete).toBe(false);
    expect(fresh.keys.size).toBeLessThan(2000); // not the whole journal
    const next = await journal.read(fresh.cursor, 5001);
    expect(next).toMatchObject({ complete: true, keys: new Set(['/w/in-flight']) });
  });

  it("a watch's polls read no record while idle and only the changed ones after a write, however many keys it watches", async () => {
    const tree = new FileTree(dir);
    await tree.init();
    const keys = Array.from({ length: 300 }, (_, i) => `/w/agent-${i}`);
    await writeElsewhere(tree, keys, 'v0');
    const coordinator = await LocalCoordinator.open(dir);
    closers.push(() => coordinator.close());
    const heard: KeyChange[] = [];
    coordinator.watch('/w', (change) => heard.push(change));
    await until(() => coordinator.pollCost().fullScans === 1);

    const reads = vi.spyOn(FileTree.prototype, 'read');
    await sleep(LOCAL_POLL_MS * 4); // at least three idle polls
    expect(reads).not.toHaveBeenCalled();
    expect(coordinator.pollCost().fullScans).toBe(1);

    await writeElsewhere(tree, ['/w/agent-7', '/w/agent-299'], 'v1');
    await until(() => heard.length === 2);
    expect(heard).toEqual([
      { key: '/w/agent-7', value: 'v1' },
      { key: '/w/agent-299', value: 'v1' },
    ]);
    await sleep(LOCAL_POLL_MS * 2);
    expect(coordinator.pollCost()).toEqual({ fullScans: 1, journalReads: 2 });
    expect(reads.mock.calls.map(([key]) => key).sort()).toEqual(['/w/agent-299', '/w/agent-7']);
    expect(heard).toHaveLength(2);
  });

  it('a change of a key deleted elsewhere is reported as a deletion without a scan', async () => {
    const tree = new FileTree(dir);
    await tree.init();
    await writeElsewhere(tree, ['/w/a', '/w/b'], 'v0');
    const coordinator = await LocalCoordinator.open(dir);
    closers.push(() => coordinator.close());
    const heard: KeyChange[] = [];
    coordinator.watch('/w', (change) => heard.push(change));
    await until(() => coordinator.pollCost().fullScans === 1);
    await tree.commit(['/w/a'], () => {
      tree.removeSync('/w/a');
      return Promise.resolve();
    });
    await until(() => heard.length === 1);
    expect(heard).toEqual([{ key: '/w/a', value: undefined }]);
    expect(coordinator.pollCost().fullScans).toBe(1);
  });
});
