/**
 * The AppMaster restarting and failing over while its job runs on real containers (a real master,
 * an agent running Linux containers, real AppWorkers pulling from the AppMaster over gRPC): the
 * pods stay, the restarted AppMaster recovers the job from its store, and the workers follow a
 * standby that takes over.
 */
import { describe, expect, it } from 'vitest';
import { appMasterClient } from '../../cli/operator-client.js';
import { runFramework } from '../../frameworks/host/host.js';
import { healthyPods, useAppMasterCluster } from '../helpers/appmaster-cluster.js';
import { eventually } from '../helpers/async-queue.js';

const cluster = useAppMasterCluster('failover', '[28600-28899]', (c) =>
  c.helloSpec('1.0.0', 'first words', { replicas: 2 }),
);

describe('the AppMaster restarting and failing over on real containers', { timeout: 120_000 }, () => {
  it('keeps the pods when the AppMaster restarts: it recovers the job and the workers reconnect', async () => {
    const c = cluster();
    const { api, master, job: name } = c;
    const before = await api.showJob({ name });
    const address = c.appmaster.framework.endpoint ?? '';
    await c.appmaster.stop();
    c.appmaster = await runFramework('appmaster', {
      master: master.address,
      options: { listen: address, coordinator: c.coordinator },
    });
    expect(c.appmaster.framework.endpoint).toBe(address);
    const after = await eventually(
      async () => {
        const job = await api.showJob({ name }).catch(() => undefined);
        return job !== undefined && job.pods.length === 2 && healthyPods(job).length === 2 && job;
      },
      30_000,
      'the recovered job to be healthy',
    );
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(before.pods.map((p) => p.taskId).sort());
  });

  it('fails over to a standby AppMaster: the workers follow it and the pods stay', async () => {
    const c = cluster();
    const { master, job: name } = c;
    const before = await c.api.showJob({ name });
    const standbyStarting = runFramework('appmaster', {
      master: master.address,
      options: { listen: '127.0.0.1:0', coordinator: c.coordinator },
    });
    // The standby waits for leadership; the leader keeps serving meanwhile.
    await new Promise((r) => setTimeout(r, 1000));
    const during = await c.api.showJob({ name }).catch((e: unknown) => {
      throw new Error(`the leader stopped answering while a standby waits: ${String(e)}`, { cause: e });
    });
    expect(during.pods).toHaveLength(2);
    await c.appmaster.stop();
    c.appmaster = await standbyStarting;
    const moved = c.appmaster.framework.endpoint ?? '';
    expect(moved).not.toBe('');
    c.api.close();
    c.api = appMasterClient(moved);
    const after = await eventually(
      async () => {
        const job = await c.api.showJob({ name });
        const fresh = job.pods.every((p) => p.updatedAt > Date.now() - 5000);
        return fresh && healthyPods(job).length === 2 && job;
      },
      30_000,
      'the workers to pull from the new leader',
    );
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(before.pods.map((p) => p.taskId).sort());
  });
});
