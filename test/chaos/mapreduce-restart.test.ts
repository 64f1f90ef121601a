/**
 * Chaos: the MapReduce framework dies by `kill -9` in the middle of a word count, once while it
 * maps and once while it reduces, and is started again (no standby). Real processes on real gRPC:
 * a `galaxy master`, a `galaxy agent` running the map and reduce workers as plain processes, and
 * `galaxy framework run mapreduce` on the master's coordinator. The new process subscribes with the
 * same framework id, finds the job where it was, keeps the maps that still serve, and the output
 * still equals a direct count of the input.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MapReduce } from '../../cli/mapreduce-client.js';
import { MapReduceJobState, type MapReduceJob } from '../../proto/gen/galaxy/v1/mapreduce.js';
import { eventually } from '../helpers/async-queue.js';
import { startFrameworkCluster, type FrameworkCluster, type FrameworkProcess } from '../helpers/framework-cluster.js';
import { collected, directCount, sorted } from '../helpers/word-count.js';

let cluster: FrameworkCluster;
let input = '';

/** Writes files of words drawn from a small vocabulary. */
async function generateInput(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (let f = 0; f < 5; f++) {
    const words: string[] = [];
    for (let i = 0; i < 40_000; i++) words.push(`w${((i * 7919 + f * 104_729) % 997).toString(36)}`);
    await writeFile(join(dir, `part-${f}.txt`), words.join([' ', '\n', ', ', '. ', '\t'][f] ?? ' '));
  }
}

beforeAll(async () => {
  cluster = await startFrameworkCluster('mapreduce-restart', '[23300-23399]');
  // The maps bind the input read-only: it lies where the agent allows host paths.
  input = join(cluster.shared, 'input');
  await generateInput(input);
}, 60_000);

afterAll(async () => {
  await (cluster as FrameworkCluster | undefined)?.stop();
}, 30_000);

/** Calls the framework at `api` as the admin. */
async function withClient<T>(api: string, fn: (client: MapReduce) => Promise<T>): Promise<T> {
  const client = new MapReduce(api, cluster.adminToken);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

// Retried: in 3 of 7 full runs one map task exited 1 four times in a row after the restart and
// the job failed. The likely cause: the agent's ports were then in the kernel's ephemeral range
// (32768-60999), where the restarted framework's new connections can hold the port a map is given
// (EADDRINUSE, again on every retry). Every test range is now below it and the worker names the
// port it cannot bind; the retry stays until full runs show the flake is gone. A retry runs a new
// job (its own name and output) on the same cluster and framework.
describe('mapreduce framework restart', { timeout: 120_000, retry: 2 }, () => {
  let framework: FrameworkProcess | undefined;
  let frameworkId = '';
  let attempt = 0;

  for (const [phase, reached] of [
    // Maps launched (stored, handed to the master) and not all of them serving yet.
    [
      'maps',
      (job: MapReduceJob) =>
        job.state === MapReduceJobState.MAPREDUCE_MAPPING &&
        job.tasks.some((t) => t.kind === 'map' && t.state === 'launched'),
    ],
    ['reduces', (job: MapReduceJob) => job.state === MapReduceJobState.MAPREDUCE_REDUCING],
  ] as const) {
    it(`kill -9 while it ${phase === 'maps' ? 'maps' : 'reduces'}, then a restart: the job goes on and the output is exact`, async () => {
      let leader = framework ?? (await cluster.startFramework('mapreduce'));
      frameworkId ||= await leader.subscribed();
      attempt += 1;
      const name = `wc-${phase}-${attempt}`;
      await withClient(leader.api, (c) =>
        c.submit({ name, input, output: join(cluster.dir, `out-${name}`), maps: 4, reduces: 2, maxAttempts: 0 }),
      );
      const atKill = await eventually(
        () =>
          withClient(leader.api, async (c) => {
            const job = await c.show(name);
            return reached(job) && job;
          }),
        60_000,
        `the job to reach its ${phase}`,
      );
      leader.proc.child.kill('SIGKILL');
      await leader.proc.exited;
      expect(atKill.state, 'killed mid-run').toBe(
        phase === 'maps' ? MapReduceJobState.MAPREDUCE_MAPPING : MapReduceJobState.MAPREDUCE_REDUCING,
      );

      leader = await cluster.startFramework('mapreduce');
      framework = leader;
      expect(await leader.subscribed(30_000)).toBe(frameworkId);
      const job = await eventually(
        () =>
          withClient(leader.api, async (c) => {
            const found = await c.show(name);
            return found.state >= MapReduceJobState.MAPREDUCE_SUCCEEDED && found;
          }),
        60_000,
        'the job to end',
      );
      expect(job.state, job.message).toBe(MapReduceJobState.MAPREDUCE_SUCCEEDED);
      // The CLI finds the new leader through the coordinator.
      const shown = await cluster.cli(['mr', 'show', name, '--coordinator', cluster.coordinator]);
      expect(shown.code, shown.out).toBe(0);
      expect(shown.out).toContain(`wordcount ${name} SUCCEEDED`);
      const expected = await directCount(input);
      expect(sorted(await collected(job))).toEqual(sorted(expected));
      console.log(
        JSON.stringify({
          test: `mapreduce restart while ${phase === 'maps' ? 'mapping' : 'reducing'}`,
          atKill: { state: MapReduceJobState[atKill.state], ...atKill.progress },
          after: job.progress,
          words: job.summary?.totalWords,
        }),
      );
    });
  }
});
