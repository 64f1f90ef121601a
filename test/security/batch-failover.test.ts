/**
 * Attacks on the batch framework's failover, against real processes (a `galaxy master`, a `galaxy
 * agent`, `galaxy framework run batch` candidates sharing the master's coordinator):
 *
 * - bob, who may act for every user, runs a batch standby of his own. When the admin's leader
 *   dies, bob's candidate is elected and re-subscribes with the stored framework id: the master
 *   refuses it (the framework belongs to the admin who first subscribed it) and bob's process
 *   exits with the reason. Nothing changed: the framework stays the admin's, alice's tasks run on,
 *   her job's record is as it was; the admin's next candidate takes over.
 * - a standby tells where the leader is only to callers with a valid token.
 * - bob cannot see, suspend or delete alice's cron job, nor take its name, over real gRPC.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../cli/batch-client.js';
import { BatchJobSpec, BatchJobState, CronSchedule } from '../../proto/gen/galaxy/v1/batch.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startFrameworkCluster, type FrameworkCluster, type FrameworkProcess } from '../helpers/framework-cluster.js';
import { refusal } from '../helpers/refusal.js';

let cluster: FrameworkCluster;
let alice = '';
let bob = '';

beforeAll(async () => {
  cluster = await startFrameworkCluster('batch-failover-attack', '[23500-23599]');
  alice = await cluster.addUser('alice', ['job:create', 'job:list', 'job:remove', 'job:update', 'container:create']);
  bob = await cluster.addUser('bob', ['job:create', 'job:list', 'job:remove', 'job:update', 'container:create']);
  await cluster.grants.grantRoles('bob', { actForUsers: true });
}, 60_000);

afterAll(async () => {
  await (cluster as FrameworkCluster | undefined)?.stop();
}, 30_000);

/** Calls the framework at `api` with `token`. */
async function as<T>(api: string, token: string, fn: (b: Batch) => Promise<T>): Promise<T> {
  const client = new Batch(api, token);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

describe('batch framework failover attacks', { timeout: 120_000 }, () => {
  let leader: FrameworkProcess;

  it("another user's standby cannot take the framework over: the master refuses it, nothing changes", async () => {
    leader = await cluster.startFramework('batch');
    const id = await leader.subscribed();
    const spec = BatchJobSpec.fromPartial({
      name: 'steady',
      command: 'sleep 60',
      completions: 2,
      resources: { cpus: 100, mem: 16 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    });
    await as(leader.api, alice, (b) => b.submit(spec));
    const operator = cluster.operator();
    try {
      const running = async () =>
        (await operator.listTasks({ frameworkId: id }).then((r) => r.tasks))
          .filter((t) => t.state === TaskState.TASK_RUNNING)
          .map((t) => t.taskId)
          .sort();
      const tasks = await eventually(
        async () => {
          const live = await running();
          return live.length === 2 && live;
        },
        20_000,
        'both tasks running',
      );
      const stored = (await cluster.session.get('/galaxy/batch/jobs/steady'))?.value;

      const intruder = await cluster.startFramework('batch', bob);
      leader.proc.child.kill('SIGKILL');
      await leader.proc.exited;
      expect(await intruder.proc.exited).toBe(2);
      expect(intruder.proc.lines.items.join('\n')).toContain(
        `GALAXY_E_PERMISSION_DENIED: framework ${id} belongs to another user; bob may not act as it (only its owner or an admin may)`,
      );

      // Nothing changed: the framework is the admin's, alice's tasks run, her job reads the same.
      const batches = (await operator.listFrameworks({}).then((r) => r.frameworks)).filter(
        (f) => f.info?.name === 'batch',
      );
      expect(batches.map((f) => [f.info?.id, f.owner])).toEqual([[id, 'admin']]);
      expect(await running()).toEqual(tasks);
      expect(JSON.parse((await cluster.session.get('/galaxy/batch/jobs/steady'))?.value ?? '')).toEqual(
        JSON.parse(stored ?? ''),
      );

      // The admin's own next candidate takes over, with the tasks.
      leader = await cluster.startFramework('batch');
      expect(await leader.subscribed(30_000)).toBe(id);
      const job = await as(leader.api, alice, (b) => b.show('steady'));
      expect(job).toMatchObject({ state: BatchJobState.BATCH_RUNNING, running: 2 });
      expect(await running()).toEqual(tasks);
      await as(leader.api, alice, (b) => b.cancel('steady'));
    } finally {
      operator.close();
    }
  });

  it('a standby names the leader only to callers with a valid token', async () => {
    const standby = await cluster.startFramework('batch');
    const anonymous = await refusal(as(standby.api, '', (b) => b.list()));
    expect(anonymous.message).toMatch(/^GALAXY_E_UNAUTHENTICATED: /);
    expect(anonymous.message).not.toContain(leader.api);
    const forged = await refusal(as(standby.api, `glx_${'x'.repeat(43)}`, (b) => b.list()));
    expect(forged.message).toMatch(/^GALAXY_E_UNAUTHENTICATED: /);
    expect((await refusal(as(standby.api, alice, (b) => b.list()))).message).toBe(
      `GALAXY_E_NOT_LEADER: this batch framework is a standby; the leader is ${leader.api}`,
    );
    await standby.proc.stop('SIGKILL');
  });

  it("bob can neither see, suspend nor delete alice's cron job, nor take its name", async () => {
    const spec = BatchJobSpec.fromPartial({ name: 'nightly', command: 'true' });
    await as(leader.api, alice, (b) => b.createCron(spec, CronSchedule.fromPartial({ cron: '0 3 * * *' })));
    const stored = (await cluster.session.get('/galaxy/batch/crons/nightly'))?.value;
    expect(await as(leader.api, bob, (b) => b.listCrons())).toEqual([]);
    for (const attack of [
      (b: Batch) => b.showCron('nightly'),
      (b: Batch) => b.suspendCron('nightly', true),
      (b: Batch) => b.deleteCron('nightly'),
    ])
      expect((await refusal(as(leader.api, bob, attack))).message).toMatch(
        /^GALAXY_E_PERMISSION_DENIED: user bob lacks job:any in pool default to act on job "nightly", which is another user's/,
      );
    expect(
      (await refusal(as(leader.api, bob, (b) => b.createCron(spec, CronSchedule.fromPartial({ cron: '* * * * *' })))))
        .message,
    ).toBe('GALAXY_E_NAME_TAKEN: the job name "nightly" is taken; choose another name');
    expect((await cluster.session.get('/galaxy/batch/crons/nightly'))?.value).toBe(stored);
    expect((await as(leader.api, alice, (b) => b.showCron('nightly'))).suspended).toBe(false);
  });
});
