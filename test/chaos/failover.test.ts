/**
 * Chaos: the leading master and the leading AppMaster die by `kill -9` while a job runs. Every
 * process is a real `galaxy` process on a real 3-node ZooKeeper ensemble whose Galaxy znodes a
 * cluster secret protects, and the pods are real containers that know no coordinator: their
 * workers follow the AppMaster through its candidates' addresses. A standby takes over each time,
 * and the pods never notice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async-queue.js';
import { ChaosCluster, type Daemon } from '../helpers/chaos-cluster.js';
import { containersOf, healthyPods, running, served } from '../helpers/chaos-probes.js';

/** Short sessions: a killed leader's candidacy goes, and its standby leads, about 2 s after the kill. */
const SESSION_MS = 2000;
const REPLICAS = 3;

let cluster: ChaosCluster;

/** SIGKILLs a daemon and waits until it is gone. */
async function kill9(daemon: Daemon): Promise<void> {
  daemon.proc.child.kill('SIGKILL');
  await daemon.proc.exited;
}

beforeAll(async () => {
  cluster = await ChaosCluster.start({
    name: 'failover',
    sessionMs: SESSION_MS,
    masters: 2,
    appmasters: 2,
    ports: '24000-24499',
    secret: true,
  });
  const api = cluster.api(await cluster.leadingAppMaster(10_000));
  await api.submitJob({ specJson: cluster.helloSpec('1.0.0', REPLICAS) });
  await cluster.settled(api, REPLICAS);
}, 150_000);

afterAll(async () => {
  // Undefined when the cluster did not start (it cleaned up after itself then).
  await (cluster as ChaosCluster | undefined)?.stop();
}, 60_000);

describe('kill -9 of a leader', { timeout: 120_000 }, () => {
  it('the leading master, during a rolling update: the update completes in place, no task killed, no pod duplicated', async () => {
    const api = cluster.api(await cluster.leadingAppMaster(10_000));
    const before = await api.showJob({ name: 'hello' });
    const containers = containersOf(before);
    expect(cluster.containers()).toEqual(containers);

    // Slow enough that the kill lands in the middle of the update.
    await api.updateJob({
      specJson: cluster.helloSpec('2.0.0', REPLICAS, {
        deploy: { step: 1, intervalS: 2, stopTimeoutS: 3, maxFailures: 1, autoRollback: true, deployTimeoutS: 90 },
      }),
    });
    const midway = await eventually(
      async () => {
        const job = await api.showJob({ name: 'hello' });
        return job.pods.some((p) => p.version === '2.0.0' && p.health === 'healthy') && job;
      },
      60_000,
      'the first pod to run v2',
    );
    const leader = await cluster.leadingMaster(10_000);
    await kill9(leader);
    expect(midway.update, 'the update was under way when the master died').toBeDefined();
    expect(midway.pods.filter((p) => p.version === '2.0.0').length).toBeLessThan(REPLICAS);
    // Its supervisor starts it again: it comes back as a standby.
    await cluster.restartExited();

    const next = await cluster.leadingMaster(30_000);
    expect(next.address).not.toBe(leader.address);
    const after = await cluster.settled(api, REPLICAS).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${cluster.tail()}`, { cause: error });
    });
    expect(after.version).toBe('2.0.0');
    expect(after.pods.every((p) => p.version === '2.0.0')).toBe(true);
    expect(containersOf(after), 'the same containers, updated in place').toEqual(containers);
    for (const pod of after.pods) expect(await served(pod.ports.http ?? 0)).toMatchObject({ version: '2.0.0' });

    // The new leader rebuilt exactly the job's tasks from the agent: none lost, none doubled.
    const listed = await eventually(
      async () => {
        const tasks = await cluster.liveTasks(next).catch(() => []);
        return tasks.length >= REPLICAS && tasks;
      },
      30_000,
      'the new leader to list the tasks',
    );
    expect(listed.map((t) => t.taskId).sort()).toEqual(containers);
    expect(cluster.containers(), 'the containers that really run on the agent').toEqual(containers);
    expect((await cluster.actingMasters()).map((m) => m.address)).toEqual([next.address]);
  });

  it('the leading AppMaster: the standby takes over, the workers follow it, the pods keep their containers', async () => {
    const leader = await cluster.leadingAppMaster(10_000);
    const standby = cluster.appmasters.find((a) => a !== leader && running(a.proc));
    if (!standby) throw new Error('no standby AppMaster');
    const containers = containersOf(await cluster.api(leader).showJob({ name: 'hello' }));

    const killedAt = Date.now();
    await kill9(leader);
    await standby.proc.lines.waitFor((l) => /^AppMaster \S+ leads/.test(l), 30_000, 'the standby to lead');
    expect(await cluster.leadingAppMaster(10_000)).toBe(standby);
    // Its supervisor starts the killed one again, on its address: it stands by.
    await cluster.restartExited();

    const api = cluster.api(standby);
    const after = await eventually(
      async () => {
        const job = await api.showJob({ name: 'hello' });
        const fresh = job.pods.every((p) => p.updatedAt > killedAt);
        return fresh && healthyPods(job).length === REPLICAS && job;
      },
      30_000,
      'every worker to pull from the new leader',
    );
    expect(containersOf(after)).toEqual(containers);
    expect(cluster.containers()).toEqual(containers);
    expect((await cluster.actingAppMasters()).map((a) => a.address)).toEqual([standby.address]);

    // The new leader acts: a scale places a new pod and leaves the others alone.
    await api.scaleJob({ name: 'hello', replicas: REPLICAS + 1 });
    const scaled = await cluster.settled(api, REPLICAS + 1);
    expect(containersOf(scaled)).toEqual(expect.arrayContaining(containers));
    const master = await cluster.leadingMaster(10_000);
    await eventually(
      async () => (await cluster.liveTasks(master)).length === REPLICAS + 1,
      15_000,
      `${REPLICAS + 1} tasks on the master`,
    );
    expect((await cluster.liveTasks(master)).map((t) => t.taskId).sort()).toEqual(containersOf(scaled));
    expect(cluster.containers()).toEqual(containersOf(scaled));
  });
});
