/**
 * A torn or empty record of the local coordinator (a crash on a disk that lied, a hand edit) is
 * reported once with its path and counts as absent: reads, lists and watches go on, and the next
 * write replaces it. A torn stamp file is rebuilt from the newest record, so stamps never go back.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTree } from './local-tree.js';
import { LocalCoordinator } from './local.js';

let dir: string;
const closers: (() => Promise<void>)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-torn-'));
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await rm(dir, { recursive: true, force: true });
});

async function open(): Promise<LocalCoordinator> {
  const coordinator = await LocalCoordinator.open(dir);
  closers.push(() => coordinator.close());
  return coordinator;
}

const valueFile = (...segments: string[]) => join(dir, 'tree', ...segments, '#value');

describe('torn records of the local coordinator', () => {
  it('reports an empty or garbled record with its path and reads it as absent', async () => {
    const coordinator = await open();
    await coordinator.put('/galaxy/jobs/web', '{"ok":true}');
    await coordinator.put('/galaxy/jobs/db', '{"ok":true}');
    await writeFile(valueFile('galaxy', 'jobs', 'web'), '');
    await writeFile(valueFile('galaxy', 'jobs', 'db'), '{"value": "{\\"ok\\":tr');
    const reports: [string, string][] = [];
    const tree = new FileTree(dir, (path, reason) => reports.push([path, reason]));
    expect(await tree.read('/galaxy/jobs/web')).toBeUndefined();
    expect(await tree.read('/galaxy/jobs/db')).toBeUndefined();
    expect(reports).toEqual([
      [valueFile('galaxy', 'jobs', 'web'), 'the file is empty'],
      [valueFile('galaxy', 'jobs', 'db'), expect.stringMatching(/^the file cannot be read \(.*JSON.*\)$/)],
    ]);
    // Through the coordinator: absent, not an error; the next write replaces it.
    expect(await coordinator.get('/galaxy/jobs/web')).toBeUndefined();
    expect(await coordinator.list('/galaxy/jobs')).toEqual([]);
    expect(await coordinator.put('/galaxy/jobs/web', 'again', { expectedVersion: -1 })).toBe(0);
    expect(await coordinator.get('/galaxy/jobs/web')).toEqual({ value: 'again', version: 0 });
  });

  it('refuses a record whose fields are not what was written', async () => {
    const coordinator = await open();
    await coordinator.put('/k', 'v');
    await writeFile(valueFile('k'), '{"value": 3, "version": "x"}');
    const reports: string[] = [];
    expect(await new FileTree(dir, (path) => reports.push(path)).read('/k')).toBeUndefined();
    expect(reports).toEqual([valueFile('k')]);
  });

  it('rebuilds a torn stamp file from the newest record, so stamps keep growing', async () => {
    const coordinator = await open();
    for (let i = 0; i < 5; i += 1) await coordinator.put('/counter', String(i));
    const reports: string[] = [];
    const tree = new FileTree(dir, (path) => reports.push(path));
    const before = await tree.stamp();
    await writeFile(join(dir, 'stamp'), '');
    expect(await tree.stamp()).toBe(before);
    expect(reports).toEqual([join(dir, 'stamp')]);
    await coordinator.put('/counter', 'next');
    expect(await tree.stamp()).toBe(before + 1);
  });
});
