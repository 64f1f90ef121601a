/**
 * Chaos: ZooKeeper servers stop under a running cluster (real `galaxy` processes on a real 3-node
 * ensemble, pods in real containers). One server down changes nothing anyone can see. Two down is
 * the loss of quorum: no leader acts, the pods keep serving, and once the servers return the
 * cluster recovers by itself, with a supervisor starting again whatever exited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async-queue.js';
import { ChaosCluster } from '../helpers/chaos-cluster.js';
import { allServe, containersOf, exitWithin, healthyPods, running, sampling } from '../helpers/chaos-probes.js';
import { fourLetter } from '../helpers/zk-ensemble.js';
import { FENCED_EXIT_CODE } from '../../core/coordinator/elect-in-helper.js';
import { DATA_SESSION_MS } from '../../master/candidate.js';

/**
 * A client cut off from its server ends its session two thirds of the timeout after its last
 * contact, and the npm `zookeeper` client can take 2–4 s to move to another server (longer when
 * the stopped server led the ensemble, which must then elect another): 8 s sessions allow 5.3 s.
 */
const SESSION_MS = 8000;
const REPLICAS = 2;

let cluster: ChaosCluster;

/** The index of the ZooKeeper server that leads the ensemble. */
async function zkLeader(): Promise<number> {
  for (const [i, server] of cluster.zk.servers.entries())
    if ((await fourLetter(server.clientPort, 'srvr')).includes('Mode: leader')) return i;
  throw new Error('no ZooKeeper server leads');
}

beforeAll(async () => {
  cluster = await ChaosCluster.start({
    name: 'quorum',
    sessionMs: SESSION_MS,
    masters: 2,
    appmasters: 2,
    ports: '24500-24999',
  });
  const api = cluster.api(await cluster.leadingAppMaster(10_000));
  await api.submitJob({ specJson: cluster.helloSpec('1.0.0', REPLICAS) });
  await cluster.settled(api, REPLICAS);
}, 150_000);

afterAll(async () => {
  // Undefined when the cluster did not start (it cleaned up after itself then).
  await (cluster as ChaosCluster | undefined)?.stop();
}, 60_000);

describe('ZooKeeper servers stop', { timeout: 150_000 }, () => {
  it('one server (the ensemble leader): nothing visible happens', async () => {
    const master = await cluster.leadingMaster(10_000);
    const appmaster = await cluster.leadingAppMaster(10_000);
    const api = cluster.api(appmaster);
    const before = await api.showJob({ name: 'hello' });
    const ports = before.pods.map((p) => p.ports.http ?? 0);
    const sessions = await cluster.zkSessions();
    expect([...sessions.values()]).toEqual(
      expect.arrayContaining(['master 0', 'master 1', 'appmaster 0', 'appmaster 1']),
    );
    // The agent looks the leader up with a short session and keeps none open: no ZooKeeper socket
    // of its own can leak into the containers it starts.
    expect([...sessions.values()]).not.toContain('agent');
    const watch = sampling(async () => {
      const [masters, job, serving] = await Promise.all([
        cluster.actingMasters(),
        api.showJob({ name: 'hello' }).catch((e: unknown) => String(e)),
        allServe(ports),
      ]);
      const healthy = typeof job === 'string' ? job : healthyPods(job).length;
      return { masters: masters.map((m) => m.address), healthy, serving };
    });

    const stopped = await zkLeader();
    try {
      await cluster.zk.stopNode(stopped);
      // Every session moves to another server, each when its client's timer fires: up to a third of
      // its timeout after the stop (the `zookeeper` package's, docs/operations.md), 10 s for the
      // masters' 30 s data sessions. Waited for up to two thirds of the longest timeout (a session
      // with the default rule is over by then) and no less than a 8 s session's timeout.
      const stoppedAt = Date.now();
      let moved = await cluster.zkSessions();
      while (
        Date.now() - stoppedAt < (2 * DATA_SESSION_MS) / 3 &&
        [...sessions.keys()].some((sid) => !moved.has(sid))
      ) {
        await new Promise((r) => setTimeout(r, 500));
        moved = await cluster.zkSessions();
      }
      await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + SESSION_MS - Date.now())));
      moved = await cluster.zkSessions();
      const samples = await watch();

      expect(samples.length).toBeGreaterThan(20);
      for (const sample of samples)
        expect(sample, cluster.tail()).toEqual({ masters: [master.address], healthy: REPLICAS, serving: true });
      expect(cluster.masters.filter((m) => !running(m.proc)).map((m) => m.address)).toEqual([]);
      expect(cluster.appmasters.filter((a) => !running(a.proc)).map((a) => a.address)).toEqual([]);
      expect(cluster.agent && running(cluster.agent)).toBe(true);
      expect((await cluster.actingAppMasters()).map((a) => a.address)).toEqual([appmaster.address]);
      // Every process kept its session (its client moved to another server in time): a process
      // that lost it could no longer find a leader through ZooKeeper, which would show later.
      const lost = [...sessions].filter(([sid]) => !moved.has(sid)).map(([sid, owner]) => `${owner} (${sid})`);
      expect(lost, 'ZooKeeper sessions lost').toEqual([]);

      // Still one server short, the cluster acts: a scale places a pod.
      await api.scaleJob({ name: 'hello', replicas: REPLICAS + 1 });
      const scaled = await cluster.settled(api, REPLICAS + 1);
      expect(containersOf(scaled)).toEqual(expect.arrayContaining(containersOf(before)));
      expect((await cluster.liveTasks(master)).map((t) => t.taskId).sort()).toEqual(containersOf(scaled));
    } finally {
      await watch();
      await cluster.zk.startNode(stopped);
    }
  });

  it('two servers: no leader acts, the pods live on, and everything recovers when they return', async () => {
    const master = await cluster.leadingMaster(10_000);
    const appmaster = await cluster.leadingAppMaster(10_000);
    const before = await cluster.api(appmaster).showJob({ name: 'hello' });
    const replicas = before.pods.length;
    const containers = containersOf(before);
    const ports = before.pods.map((p) => p.ports.http ?? 0);
    const serving = sampling(() => allServe(ports));

    const down = [0, 1];
    try {
      await Promise.all(down.map((i) => cluster.zk.stopNode(i)));
      // The leaders' sessions end: they stop acting, and exit for a supervisor to restart them. The
      // master exits with code 1 when its election helper tells it (FENCED_EXIT_CODE); its helper
      // SIGKILLs it only when it has not exited 250 ms later (a stopped master:
      // master-election.test.ts). This one is idle: a SIGKILL here would be a fence gone wrong.
      const grace = SESSION_MS + 10_000;
      expect(await exitWithin(master.proc, grace), cluster.tail()).toBe(FENCED_EXIT_CODE);
      expect(await exitWithin(appmaster.proc, grace), cluster.tail()).toBe(1);
      const verb = await cluster
        .api(appmaster)
        .scaleJob({ name: 'hello', replicas: replicas + 1 })
        .catch((e: unknown) => e);
      expect(verb).toBeInstanceOf(Error);
      // Nobody else leads either while quorum is gone.
      await new Promise((r) => setTimeout(r, 3000));
      expect(await cluster.actingMasters()).toEqual([]);
      expect(await cluster.actingAppMasters()).toEqual([]);
      expect(cluster.containers(), 'the containers live on').toEqual(containers);

      for (const i of down) await cluster.zk.startNode(i);
      const restoredAt = Date.now();
      // A supervisor starts again whatever exited, with the same flags.
      await cluster.restartExited();
      const outage = await serving();
      expect(outage.length).toBeGreaterThan(20);
      expect(outage.every(Boolean), 'every pod served throughout').toBe(true);

      const next = await cluster.leadingMaster(30_000);
      await eventually(
        async () => (await cluster.liveTasks(next).catch(() => [])).length === replicas,
        60_000,
        'the agent to re-register with its tasks',
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${cluster.tail()}`, { cause: error });
      });
      expect((await cluster.liveTasks(next)).map((t) => t.taskId).sort()).toEqual(containers);
      const api = cluster.api(await cluster.leadingAppMaster(30_000));
      const recovered = await eventually(
        async () => {
          const job = await api.showJob({ name: 'hello' }).catch(() => undefined);
          const fresh = job?.pods.every((p) => p.updatedAt > restoredAt) === true;
          return job !== undefined && fresh && healthyPods(job).length === replicas && job;
        },
        30_000,
        'the workers to report to the AppMaster',
      );
      expect(containersOf(recovered)).toEqual(containers);

      await api.scaleJob({ name: 'hello', replicas: replicas + 1 });
      const scaled = await cluster.settled(api, replicas + 1);
      expect(containersOf(scaled)).toEqual(expect.arrayContaining(containers));
      expect(cluster.containers()).toEqual(containersOf(scaled));
    } finally {
      await serving(); // stops the sampling if the test failed on the way
    }
  });
});
