/**
 * The AppMaster managing a running job's pods on real containers (a real master, an agent running
 * Linux containers, real AppWorkers pulling from the AppMaster over gRPC): scale, replace one pod,
 * replace containers one at a time when resources change, stop and run again, pending reasons,
 * and remove, which leaves nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { JOBS_PREFIX } from '../../frameworks/appmaster/store.js';
import { resolve as resolveEndpoints } from '../../frameworks/sdk/naming.js';
import { NO_BREAKPOINT, useAppMasterCluster } from '../helpers/appmaster-cluster.js';
import { eventually } from '../helpers/async-queue.js';
import { processesWithEnv } from '../helpers/processes.js';

// What the rollout leaves running: v2 with the second data package, updated without a breakpoint.
const cluster = useAppMasterCluster('pods', '[28300-28599]', (c) =>
  c.helloSpec('2.0.0', 'second words', { deploy: NO_BREAKPOINT }),
);

describe("the AppMaster managing a job's pods on real containers", { timeout: 120_000 }, () => {
  it('scales 3 → 5 → 2', async () => {
    const c = cluster();
    const { api, store, job: name } = c;
    await api.scaleJob({ name, replicas: 5 });
    await c.helloSettled(5);
    await api.scaleJob({ name, replicas: 2 });
    const job = await c.helloSettled(2);
    await eventually(async () => (await resolveEndpoints(store, name)).length === 2, 10_000, 'naming of 2');
    expect(job.pods.map((p) => p.index).sort()).toEqual([0, 1]);
  });

  it('replaces one pod on request, with a new container', async () => {
    const c = cluster();
    const { api, job: name } = c;
    const { job: before, pod } = await c.helloFirstPod();
    await api.recoverPod({ name, podId: pod.podId });
    const after = await eventually(
      async () => {
        const job = await c.helloSettled(2);
        const again = job.pods.find((p) => p.podId === pod.podId);
        return again !== undefined && again.taskId !== pod.taskId && job;
      },
      60_000,
      'a new container for the pod',
    );
    expect(after.pods.find((p) => p.podId === before.pods[1]?.podId)?.taskId).toBe(before.pods[1]?.taskId);
  });

  it('replaces containers, one at a time, when resources change', async () => {
    const c = cluster();
    const { api, agent, job: name } = c;
    const before = await api.showJob({ name });
    const resources = { cpu: { millicores: 200, excess: true }, memory: { hard: '320Mi' } };
    const updating = await api.updateJob({
      specJson: c.helloSpec('2.0.0', 'second words', { deploy: NO_BREAKPOINT, resources, replicas: 2 }),
    });
    expect(updating.update?.toRevision).toBeGreaterThan(updating.update?.fromRevision ?? 0);
    const after = await eventually(
      async () => {
        const job = await c.helloSettled(2);
        return job.pods.every((p) => !before.pods.some((b) => b.taskId === p.taskId)) && job;
      },
      90_000,
      'new containers',
    );
    const live = () => [...agent.tasks.keys()].map((k) => k.split('/')[1]);
    await eventually(() => before.pods.every((b) => !live().includes(b.taskId)), 15_000, 'the old containers to go');
    expect(after.pods.every((p) => p.version === '2.0.0')).toBe(true);
  });

  it('stops a job (no pods) and runs it again when scaled', async () => {
    const c = cluster();
    const { api, store, job: name } = c;
    const stopped = await api.stopJob({ name });
    expect(stopped.state).toBe('stopped');
    await eventually(async () => (await api.showJob({ name })).pods.length === 0, 30_000, 'no pods');
    await eventually(async () => (await resolveEndpoints(store, name)).length === 0, 10_000, 'no endpoints');
    await api.scaleJob({ name, replicas: 2 });
    await c.helloSettled(2);
  });

  it('says why pods are pending: which resource, on how many hosts', async () => {
    const c = cluster();
    const { api } = c;
    const huge = JSON.parse(c.helloSpec('1.0.0', 'first words')) as Record<string, unknown>;
    await api.submitJob({
      specJson: JSON.stringify({
        ...huge,
        name: 'huge',
        replicas: 1,
        resources: { cpu: { millicores: 100 }, memory: { hard: '900Gi' } },
      }),
    });
    const job = await eventually(
      async () => {
        const j = await api.showJob({ name: 'huge' });
        return j.pending.length > 0 && j;
      },
      10_000,
      'pending reasons',
    );
    expect(job.pods[0]?.phase).toBe('pending');
    expect(job.pending[0]?.reason).toMatch(/mem/);
    expect(job.pending[0]?.hosts).toBe(1);
    await api.removeJob({ name: 'huge' });
  });

  it('remove leaves no container, cgroup or naming entry behind', async () => {
    const c = cluster();
    const { api, agent, store, job: name } = c;
    await api.removeJob({ name });
    await expect(api.showJob({ name })).rejects.toMatchObject({ code: 'GALAXY_E_JOB_UNKNOWN' });
    await eventually(() => agent.tasks.size === 0, 30_000, 'the containers to go');
    expect(await resolveEndpoints(store, name)).toEqual([]);
    expect(await store.list(JOBS_PREFIX)).toEqual([]);
    await eventually(() => processesWithEnv(c.sandbox).length === 0, 10_000, 'the processes to go');
    if (c.isolation !== '') {
      const driver = detectCgroupDriver();
      expect(await driver.children(c.cgroupRoot)).toEqual([]);
    }
  });
});
