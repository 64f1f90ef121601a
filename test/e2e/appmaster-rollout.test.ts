/**
 * The AppMaster rolling out a job on real containers (a real master, an agent running Linux
 * containers, real AppWorkers pulling from the AppMaster over gRPC): bad specs refused, deploy and
 * naming, an in-place rolling update with a breakpoint, automatic rollback, restart with backoff,
 * data reload without a restart, and exec.
 */
import { describe, expect, it } from 'vitest';
import { JOBS_PREFIX } from '../../frameworks/appmaster/store.js';
import { resolve as resolveEndpoints } from '../../frameworks/sdk/naming.js';
import { UpdateControl } from '../../proto/gen/galaxy/v1/appmaster.js';
import { NO_BREAKPOINT, useAppMasterCluster } from '../helpers/appmaster-cluster.js';
import { eventually } from '../helpers/async-queue.js';
import { served } from '../helpers/deploy-cluster.js';

const cluster = useAppMasterCluster('rollout', '[28000-28299]');

describe('the AppMaster rolling out a job on real containers', { timeout: 120_000 }, () => {
  it('refuses bad specs with clear errors and stores nothing', async () => {
    const c = cluster();
    const { api, store } = c;
    const good = JSON.parse(c.helloSpec('1.0.0', 'first words')) as Record<string, unknown>;
    const bad: [string, Record<string, unknown>, RegExp][] = [
      ['negative resources', { resources: { cpu: { millicores: -5 }, memory: { hard: '256Mi' } } }, /resources\.cpu/],
      ['unknown field', { colour: 'blue' }, /colour/],
      [
        'port conflict',
        {
          ports: [
            { name: 'http', port: 8080 },
            { name: 'admin', port: 8080 },
          ],
        },
        /8080/,
      ],
      ['missing command', { commands: { reload: 'true' } }, /commands\.start/],
      [
        'escaping data path',
        { data: [{ ...(good.data as object[])[0], dest: '../../etc' }] },
        /data\[0\]\.dest: must stay inside the sandbox/,
      ],
    ];
    for (const [what, change, message] of bad) {
      const error = await api.submitJob({ specJson: JSON.stringify({ ...good, ...change }) }).catch((e: unknown) => e);
      expect(error, what).toMatchObject({ code: 'GALAXY_E_SPEC_INVALID' });
      expect((error as Error).message, what).toMatch(message);
    }
    expect(await api.listJobs({}).then((r) => r.jobs)).toEqual([]);
    expect(await store.list(JOBS_PREFIX)).toEqual([]);
  });

  it('deploys 3 replicas, publishes them to naming, and serves v1', async () => {
    const c = cluster();
    const { api, master, appmaster, store, job: name } = c;
    await api.submitJob({ specJson: c.helloSpec('1.0.0', 'first words') });
    const job = await c.helloSettled(3);
    // The pods run in their owner's role (an open server's caller), which the AppMaster holds.
    const id = appmaster.driver.frameworkId;
    expect(master.view.frameworks().find((f) => f.info?.id === id)?.info?.roles).toEqual(['anonymous']);
    const pods = master.view.tasks(id).filter((t) => job.pods.some((p) => p.taskId === t.taskId));
    expect(pods.map((t) => t.role)).toEqual(['anonymous', 'anonymous', 'anonymous']);
    const endpoints = await eventually(
      async () => {
        const listed = await resolveEndpoints(store, name);
        return listed.filter((e) => e.healthy).length === 3 && listed;
      },
      5000,
      '3 healthy endpoints in naming',
    );
    expect(endpoints.map((e) => e.port).sort()).toEqual(job.pods.map((p) => p.ports.http).sort());
    for (const pod of job.pods) {
      const answer = await served(pod.ports.http ?? 0);
      expect(answer).toMatchObject({ version: '1.0.0', message: 'first words' });
    }
  });

  it('updates v1 → v2 in place, step 1, pausing at the breakpoint, with ≥ 2 replicas healthy throughout', async () => {
    const c = cluster();
    const { api, job: name } = c;
    const before = await api.showJob({ name });
    const containers = before.pods.map((p) => p.taskId).sort();
    const ports = before.pods.map((p) => p.ports.http ?? 0);
    const sampling = { on: true };
    const samples: number[] = [];
    const sampler = (async () => {
      while (sampling.on) {
        const answers = await Promise.all(ports.map((port) => served(port)));
        samples.push(answers.filter((a) => a !== undefined).length);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await api.updateJob({ specJson: c.helloSpec('2.0.0', 'first words') });
    const paused = await eventually(
      async () => {
        const job = await api.showJob({ name });
        return job.update?.paused === true && job;
      },
      60_000,
      'the breakpoint',
    );
    expect(paused.state).toBe('paused');
    expect(paused.update).toMatchObject({ updated: 1, total: 3, pausedReason: 'breakpoint after 1 pod' });
    // Paused means paused: nothing else moves.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await api.showJob({ name })).pods.filter((p) => p.version === '2.0.0')).toHaveLength(1);
    await api.controlUpdate({ name, control: UpdateControl.UPDATE_CONTINUE });
    const after = await c.helloSettled(3);
    sampling.on = false;
    await sampler;
    expect(after.version).toBe('2.0.0');
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(containers);
    for (const pod of after.pods) expect(await served(pod.ports.http ?? 0)).toMatchObject({ version: '2.0.0' });
    expect(samples.length).toBeGreaterThan(20);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
  });

  it('rolls a broken v3 back to v2 on its own', async () => {
    const c = cluster();
    const { api, job: name } = c;
    const containers = (await api.showJob({ name })).pods.map((p) => p.taskId).sort();
    await api.updateJob({ specJson: c.helloSpec('3.0.0', 'first words', { env: { HELLO_BROKEN: '1' } }) });
    await eventually(
      async () => (await api.showJob({ name })).update?.rollingBack === true,
      60_000,
      'the rollback to start',
    );
    const after = await c.helloSettled(3);
    expect(after.version).toBe('2.0.0');
    expect(after.pods.every((p) => p.version === '2.0.0')).toBe(true);
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(containers);
  });

  it('restarts a crashed service with backoff, in the same container', async () => {
    const c = cluster();
    const { api, job: name } = c;
    const { pod } = await c.helloFirstPod();
    await fetch(`http://127.0.0.1:${pod.ports.http ?? 0}/crash`).catch(() => undefined);
    const delayed = await eventually(
      async () => (await api.showJob({ name })).pods.find((p) => p.podId === pod.podId && p.phase === 'delayed'),
      15_000,
      'the delayed state',
    );
    expect(delayed.delayedUntil).toBeGreaterThan(Date.now() - 1000);
    expect(delayed.lastExitCode).toBe(1);
    const after = await c.helloSettled(3);
    const again = after.pods.find((p) => p.podId === pod.podId);
    expect(again).toMatchObject({ taskId: pod.taskId, health: 'healthy' });
    expect(again?.restarts).toBeGreaterThan(pod.restarts);
  });

  it('reloads a data package without restarting the service', async () => {
    const c = cluster();
    const { api, job: name } = c;
    const job = await api.showJob({ name });
    const before = await Promise.all(job.pods.map((p) => served(p.ports.http ?? 0)));
    await api.updateJob({ specJson: c.helloSpec('2.0.0', 'second words', { deploy: NO_BREAKPOINT }) });
    await eventually(
      async () => {
        const answers = await Promise.all(job.pods.map((p) => served(p.ports.http ?? 0)));
        return answers.every((a) => a?.message === 'second words') && answers;
      },
      60_000,
      'the new content',
    );
    const after = await Promise.all(job.pods.map((p) => served(p.ports.http ?? 0)));
    expect(after.map((a) => a?.pid)).toEqual(before.map((a) => a?.pid));
    await c.helloSettled(3);
  });

  it('runs a command in a pod', async () => {
    const c = cluster();
    const { api, job: name } = c;
    const pod = (await api.showJob({ name })).pods[0];
    const result = await api.execPod({
      name,
      podId: pod?.podId ?? '',
      command: 'cat reloads.log; echo "pod=$GALAXY_POD_ID"',
      timeoutS: 10,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`pod=${pod?.podId ?? ''}`);
  });
});
