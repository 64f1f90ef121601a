/**
 * Cron jobs on a real cluster: a `galaxy master`, a `galaxy agent` and a `galaxy framework run
 * batch`, driven through the `galaxy batch cron` CLI as a user. A cron job runs twice (each run a
 * batch job of the user's, whose tasks really run on the agent); suspended it starts no run; its
 * history keeps the last runs only. Then the framework is killed while a run falls due and started
 * again: the missed run starts late, within its starting deadline (the schedule leaves the restart
 * 45 s before a later run could supersede it).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../cli/batch-client.js';
import { BatchJobSpec, BatchJobState, CronSchedule, type CronJob } from '../../proto/gen/galaxy/v1/batch.js';
import { eventually } from '../helpers/async-queue.js';
import { startFrameworkCluster, type FrameworkCluster, type FrameworkProcess } from '../helpers/framework-cluster.js';

let cluster: FrameworkCluster;
let alice = '';
let framework: FrameworkProcess;

beforeAll(async () => {
  cluster = await startFrameworkCluster('batch-cron', '[23400-23499]');
  alice = await cluster.addUser('alice', ['job:create', 'job:list', 'job:remove', 'job:update', 'container:create']);
  framework = await cluster.startFramework('batch');
  await framework.subscribed();
}, 60_000);

afterAll(async () => {
  await (cluster as FrameworkCluster | undefined)?.stop();
}, 30_000);

/** `galaxy batch cron …args` as alice through the coordinator; resolves with its JSON answer. */
async function cron(args: string[]): Promise<CronJob[]> {
  const run = await cluster.cli(['batch', 'cron', ...args, '--coordinator', cluster.coordinator, '-o', 'json'], alice);
  expect(run.code, run.out).toBe(0);
  return JSON.parse(
    run.out
      .split('\n')
      .filter((l) => !l.startsWith('{"level"'))
      .join('\n'),
  ) as CronJob[];
}

/** The cron job `name` as alice sees it, from the leader at `api`. */
async function show(api: string, name: string): Promise<CronJob> {
  const client = new Batch(api, alice);
  try {
    return await client.showCron(name);
  } finally {
    client.close();
  }
}

/** The lines the runs appended to `file`. */
const lines = async (file: string): Promise<string[]> =>
  (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');

describe('cron jobs on a real master', { timeout: 90_000 }, () => {
  it('runs twice on its schedule, keeps its history limit, and starts nothing while suspended', async () => {
    const dir = join(cluster.dir, 'tick');
    await mkdir(dir);
    const log = join(dir, 'runs');
    const [created] = await cron([
      'create',
      '--name',
      'tick',
      '--command',
      `echo $GALAXY_JOB >> ${log}`,
      '--resources',
      'cpus:0.1;mem:16MiB',
      '--schedule',
      '*/2 * * * * *',
      '--concurrency-policy',
      'Forbid',
      '--successful-history',
      '1',
    ]);
    expect(created).toMatchObject({
      owner: 'alice',
      suspended: false,
      schedule: { cron: '*/2 * * * * *', timeZone: 'UTC' },
    });
    const twice = await eventually(
      async () => {
        const job = await show(framework.api, 'tick');
        return job.history.length + job.active.length >= 2 && (await lines(log)).length >= 2 && job;
      },
      30_000,
      'two runs',
    );
    const ran = await lines(log);
    expect(new Set(ran).size, 'each run is its own batch job').toBe(ran.length);
    for (const name of ran) expect(name).toMatch(/^tick-\d{10}$/);
    // Each run was a batch job of alice's, named after its scheduled second.
    const runs = [...twice.active, ...twice.history];
    for (const run of runs) expect(run.job).toBe(`tick-${run.scheduledAt}`);
    await eventually(
      async () => (await show(framework.api, 'tick')).history.length === 1,
      10_000,
      'the history trimmed to 1',
    );

    const [suspended] = await cron(['suspend', 'tick']);
    expect(suspended?.suspended).toBe(true);
    expect(suspended?.nextRunAt).toBe(0);
    await eventually(
      async () => (await show(framework.api, 'tick')).active.length === 0,
      10_000,
      'the last run to end',
    );
    const before = (await lines(log)).length;
    await new Promise((resolve) => setTimeout(resolve, 4500));
    expect((await lines(log)).length, 'no run while suspended').toBe(before);
    const [listed] = await cron(['list']);
    expect(listed?.spec?.name).toBe('tick');
    await cron(['delete', 'tick']);
    const client = new Batch(framework.api, alice);
    try {
      expect((await client.list()).filter((j) => j.cron === 'tick')).toEqual([]);
    } finally {
      client.close();
    }
  });

  it('a run that fell due while the framework was down starts after its restart, within its starting deadline', async () => {
    const dir = join(cluster.dir, 'catchup');
    await mkdir(dir);
    const log = join(dir, 'runs');
    // Two times a minute, 15 s apart: a first run soon, then the one missed while the framework is
    // down, then 45 s with nothing due. The framework's restart may take any part of those 45 s (a
    // loaded machine): the one run due when it comes back is always the missed one, never a later
    // one that would supersede it (Kubernetes' rule: of the runs missed, only the latest starts).
    const first = Math.ceil(Date.now() / 1000) + 4;
    const missed = first + 15;
    const seconds = [first % 60, missed % 60].sort((a, b) => a - b);
    const client = new Batch(framework.api, alice);
    try {
      await client.createCron(
        BatchJobSpec.fromPartial({
          name: 'catchup',
          command: `echo $GALAXY_JOB >> ${log}`,
          resources: { cpus: 100, mem: 16 * 1024 * 1024 },
        }),
        CronSchedule.fromPartial({ cron: `${seconds.join(',')} * * * * *`, startingDeadlineS: 60 }),
      );
    } finally {
      client.close();
    }
    await eventually(
      async () => (await show(framework.api, 'catchup')).lastScheduledAt === first,
      30_000,
      'the first run handled',
    );
    framework.proc.child.kill('SIGKILL');
    await framework.proc.exited;
    expect(Date.now() / 1000, 'killed before the second run fell due').toBeLessThan(missed);
    // Down past the second run's time.
    await new Promise((resolve) => setTimeout(resolve, (missed - Date.now() / 1000) * 1000 + 1500));
    framework = await cluster.startFramework('batch');
    await framework.subscribed(30_000);
    const late = await eventually(
      async () => {
        const job = await show(framework.api, 'catchup');
        return [...job.active, ...job.history].find((r) => r.scheduledAt === missed);
      },
      30_000,
      'the missed run',
    );
    expect(late.job).toBe(`catchup-${missed}`);
    await eventually(async () => (await lines(log)).includes(late.job), 30_000, 'the missed run to have run');
    const job = await show(framework.api, 'catchup');
    expect([...job.active, ...job.history].map((r) => r.scheduledAt)).toEqual(expect.arrayContaining([first, missed]));
    expect([...job.active, ...job.history].find((r) => r.job === late.job)?.state).not.toBe(BatchJobState.BATCH_FAILED);
    expect(job.message).toBe('');
    expect(job.missed, 'no run missed').toBe(0);
  });
});
