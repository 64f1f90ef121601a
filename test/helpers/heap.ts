/**
 * The live heap of another Node process, measured from a heap snapshot: the process is started
 * with {@link heapSnapshotEnv} and sent SIGUSR2; V8 collects garbage before it writes a snapshot,
 * so the sum of the nodes' sizes is what the process really holds.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually } from './async-queue.js';

/** The environment that makes a Node process write a heap snapshot into `dir` on SIGUSR2. */
export function heapSnapshotEnv(dir: string): Record<string, string> {
  return { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` };
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[] } };
  nodes: number[];
}

/** Bytes the live objects of process `pid` hold, from a fresh snapshot in `dir` (removed after). */
export async function liveHeapBytes(pid: number, dir: string): Promise<number> {
  const before = new Set(await readdir(dir));
  process.kill(pid, 'SIGUSR2');
  const snapshot = await eventually(
    async () => {
      const file = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      if (!file) return undefined;
      try {
        const parsed = JSON.parse(await readFile(join(dir, file), 'utf8')) as Snapshot;
        await rm(join(dir, file), { force: true });
        return parsed;
      } catch {
        return undefined; // still being written
      }
    },
    60_000,
    `a heap snapshot of process ${pid}`,
  );
  const fields = snapshot.snapshot.meta.node_fields;
  const selfSize = fields.indexOf('self_size');
  let total = 0;
  for (let i = selfSize; i < snapshot.nodes.length; i += fields.length) total += snapshot.nodes[i] ?? 0;
  return total;
}
