/**
 * Chaos: the leading batch framework dies by `kill -9` while a job of many completions runs. Real
 * processes on real gRPC: a `galaxy master`, a `galaxy agent` (tasks as plain processes), and two
 * `galaxy framework run batch` candidates sharing the master's coordinator. The standby takes over
 * with the same framework id, reconciles the tasks in flight with the master, and no job is lost:
 * every completion index succeeds exactly once, none ever runs twice at once (each task holds a
 * directory lock of its index while it runs), and the owner's quota claims stay as they were. Then
 * the only batch framework left is killed and started again (no standby): the job goes on.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../cli/batch-client.js';
import { BatchJobState, type BatchJob } from '../../proto/gen/galaxy/v1/batch.js';
import { eventually } from '../helpers/async-queue.js';
import { startFrameworkCluster, type FrameworkCluster, type FrameworkProcess } from '../helpers/framework-cluster.js';
import type { GalaxyProcess } from '../helpers/processes.js';

let cluster: FrameworkCluster;
let alice = '';

beforeAll(async () => {
  cluster = await startFrameworkCluster('batch-failover', '[23100-23199]');
  alice = await cluster.addUser('alice', ['job:create', 'job:list', 'job:remove', 'container:create']);
  await cluster.quotas.set('alice', { limit: { cpus: 2000 } });
}, 60_000);

afterAll(async () => {
  // Undefined when the cluster did not start (it cleaned up after itself then).
  await (cluster as FrameworkCluster | undefined)?.stop();
}, 30_000);

/**
 * A task of index $GALAXY_COMPLETION_INDEX that takes the index's lock directory while it works
 * (a second task of the same index at the same time leaves a collision mark and fails), then
 * records its index in `done`.
 */
function lockedTask(dir: string, seconds: number): string {
  const i = '$GALAXY_COMPLETION_INDEX';
  return (
    `if mkdir ${dir}/running-${i} 2>/dev/null; then sleep ${seconds}; echo ${i} >> ${dir}/done; rmdir ${dir}/running-${i}; ` +
    `else touch ${dir}/collision-${i}; exit 1; fi`
  );
}

/** `galaxy batch submit` as alice, finding the leader through the coordinator. */
async function submit(name: string, command: string, completions: number, parallelism: number, wait = false) {
  const args = ['batch', 'submit', '--coordinator', cluster.coordinator, '--name', name, '--command', command];
  args.push('--completions', String(completions), '--parallelism', String(parallelism));
  args.push('--resources', 'cpus:0.1;mem:16MiB', '--retries', '0', '-o', 'json');
  if (wait) args.push('--wait');
  const run = await cluster.cli(args, alice);
  expect(run.code, run.out).toBe(0);
}

/** Every job as alice sees it, through the leader at `api`. */
async function jobs(api: string): Promise<Map<string, BatchJob>> {
  const client = new Batch(api, alice);
  try {
    return new Map((await client.list()).map((j) => [j.spec?.name ?? '', j]));
  } finally {
    client.close();
  }
}

/** How many times each index was recorded done in `dir`. */
async function doneCounts(dir: string): Promise<Map<number, number>> {
  const text = await readFile(join(dir, 'done'), 'utf8').catch(() => '');
  const counts = new Map<number, number>();
  for (const line of text.split('\n').filter((l) => l !== ''))
    counts.set(Number(line), (counts.get(Number(line)) ?? 0) + 1);
  return counts;
}

/** SIGKILLs `proc` and waits until it is gone. */
async function kill9(proc: GalaxyProcess): Promise<number> {
  const at = Date.now();
  proc.child.kill('SIGKILL');
  await proc.exited;
  return at;
}

const ended = (job: BatchJob | undefined) =>
  job !== undefined &&
  [BatchJobState.BATCH_SUCCEEDED, BatchJobState.BATCH_FAILED, BatchJobState.BATCH_CANCELLED].includes(job.state);

describe('batch framework failover', { timeout: 120_000 }, () => {
  let leader: FrameworkProcess;
  let frameworkId = '';

  it('kill -9 of the leader mid-job: the standby takes over with the same id, every index succeeds exactly once', async () => {
    const scratch = join(cluster.dir, 'many');
    await mkdir(scratch);
    const first = await cluster.startFramework('batch');
    frameworkId = await first.subscribed();
    const standby = await cluster.startFramework('batch');

    // The standby answers only to say where the leader is.
    const asked = new Batch(standby.api, alice);
    const refusal = await asked.list().then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    asked.close();
    expect(refusal?.message).toBe(`GALAXY_E_NOT_LEADER: this batch framework is a standby; the leader is ${first.api}`);

    // Jobs go in through the CLI, which finds the leader through the coordinator.
    await submit('early', 'true', 3, 3, true);
    await submit('many', lockedTask(scratch, 0.4), 60, 6);
    await submit('later', 'sleep 1', 4, 1);
    const before = await eventually(
      async () => {
        const many = (await jobs(first.api)).get('many');
        return many && many.succeeded >= 15 && many;
      },
      60_000,
      'many to be a quarter done',
    );
    expect(before.state).toBe(BatchJobState.BATCH_RUNNING);
    const claims = await cluster.quotas.claims('alice');
    expect(Object.keys(claims).sort()).toEqual(['batch/later', 'batch/many']);

    const killedAt = await kill9(first.proc);
    const id = await standby.subscribed(30_000);
    const tookOverMs = Date.now() - killedAt;
    expect(id, 'the standby fails over with the same framework id').toBe(frameworkId);
    // It asked the master about the tasks the dead leader had in flight.
    const reconciled = await standby.proc.lines.waitFor((l) => l.includes('reconciling the tasks in flight'), 5000);
    expect((JSON.parse(reconciled) as { tasks: number }).tasks).toBeGreaterThan(0);
    // Its API answers at once, with every job as the dead leader left it (or further along).
    const recovered = await jobs(standby.api);
    const answeredMs = Date.now() - killedAt;
    expect([...recovered.keys()].sort()).toEqual(['early', 'later', 'many']);
    // The dead leader may have shown ends it had not stored yet: those were not acknowledged, so
    // the master sends them again, and the new leader counts them too.
    expect(recovered.get('many')?.succeeded).toBeGreaterThanOrEqual(before.succeeded - 6);
    await eventually(
      async () => ((await jobs(standby.api)).get('many')?.succeeded ?? 0) >= before.succeeded,
      15_000,
      'the ends the dead leader had seen to be counted again',
    );
    expect(recovered.get('early')?.state).toBe(BatchJobState.BATCH_SUCCEEDED);
    expect(await cluster.quotas.claims('alice'), "the owner's quota claims are intact").toEqual(claims);

    const after = await eventually(
      async () => {
        const all = await jobs(standby.api);
        return [...all.values()].every(ended) && all;
      },
      60_000,
      'every job to end',
    );
    const many = after.get('many');
    expect(many).toMatchObject({ state: BatchJobState.BATCH_SUCCEEDED, succeeded: 60, failed: 0 });
    expect(after.get('later')).toMatchObject({ state: BatchJobState.BATCH_SUCCEEDED, succeeded: 4 });
    const counts = await doneCounts(scratch);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(
      [...counts.values()].every((n) => n === 1),
      'each index ran to its end exactly once',
    ).toBe(true);
    expect((await readdir(scratch)).filter((f) => f.startsWith('collision-') || f.startsWith('running-'))).toEqual([]);
    // Ended jobs hold no claim; the master knows one batch framework, the same one, active.
    await eventually(
      async () => Object.keys(await cluster.quotas.claims('alice')).length === 0,
      10_000,
      'claims released',
    );
    const operator = cluster.operator();
    try {
      const batches = (await operator.listFrameworks({}).then((r) => r.frameworks)).filter(
        (f) => f.info?.name === 'batch',
      );
      expect(batches.map((f) => [f.info?.id, f.active])).toEqual([[frameworkId, true]]);
    } finally {
      operator.close();
    }
    leader = standby;
    console.log(
      JSON.stringify({
        test: 'batch failover',
        jobs: after.size,
        completions:
          (many?.succeeded ?? 0) + (after.get('later')?.succeeded ?? 0) + (after.get('early')?.succeeded ?? 0),
        manySucceededAtKill: before.succeeded,
        tookOverMs,
        answeredMs,
        frameworkId,
      }),
    );
  });

  it('a restart of the only batch framework (no standby): the job goes on where it was', async () => {
    const scratch = join(cluster.dir, 'restart');
    await mkdir(scratch);
    await submit('restarted', lockedTask(scratch, 0.3), 30, 5);
    const before = await eventually(
      async () => {
        const job = (await jobs(leader.api)).get('restarted');
        return job && job.succeeded >= 8 && job;
      },
      60_000,
      'a part of the job to be done',
    );
    await kill9(leader.proc);
    const again = await cluster.startFramework('batch');
    expect(await again.subscribed(30_000)).toBe(frameworkId);
    const job = await eventually(
      async () => {
        const found = (await jobs(again.api)).get('restarted');
        return ended(found) && found;
      },
      60_000,
      'the job to end',
    );
    expect(job).toMatchObject({ state: BatchJobState.BATCH_SUCCEEDED, succeeded: 30, failed: 0 });
    expect(before.succeeded).toBeLessThan(30);
    const counts = await doneCounts(scratch);
    expect(counts.size).toBe(30);
    expect([...counts.values()].every((n) => n === 1)).toBe(true);
    expect((await readdir(scratch)).filter((f) => f.startsWith('collision-'))).toEqual([]);
  });
});
