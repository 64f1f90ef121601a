/**
 * The AppMaster end to end, with a real master, a real agent running Linux containers (cgroups +
 * namespaces) and real AppWorkers inside them pulling from the AppMaster over gRPC:
 * deploy, in-place rolling update with a breakpoint, automatic rollback, restart with backoff,
 * data reload without a restart, scale, exec, pending reasons, remove — and bad specs refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import { renderJob } from '../../cli/job-view.js';
import { autoIsolation } from '../../cli/up.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { packageRoot } from '../../core/paths.js';
import { createPackage } from '../../frameworks/appmaster/appworker/package.js';
import { JOBS_PREFIX } from '../../frameworks/appmaster/store.js';
import { runFramework, type FrameworkHandle } from '../../frameworks/host/host.js';
import { resolve as resolveEndpoints } from '../../frameworks/sdk/naming.js';
import { startMaster, type Master } from '../../master/master.js';
import { UpdateControl, type JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { eventually } from '../helpers/async-queue.js';
import { packagesVolume } from '../helpers/packages.js';
import { killWithEnv, processesWithEnv } from '../helpers/processes.js';

const isolation = autoIsolation();
const cgroupRoot = `galaxy-appmaster-test-${randomBytes(4).toString('hex')}`;
let workDir = '';
let master: Master;
let agent: Agent;
let appmaster: FrameworkHandle;
let api: AppMasterApi;
let coordinator: Coordinator;
const packages: Record<string, { url: string; sha256: string }> = {};

/** The hello job at `version`, with the data package `data`; `extra` overrides fields. */
function helloSpec(version: string, data: string, extra: Record<string, unknown> = {}): string {
  const pkg = packages[version];
  const content = packages[data];
  if (!pkg || !content) throw new Error(`no package ${version} or ${data}`);
  return JSON.stringify({
    name: 'hello',
    replicas: 3,
    ports: [{ name: 'http' }],
    resources: { cpu: { millicores: 200, excess: true }, memory: { hard: '256Mi' } },
    package: { source: pkg.url, version, sha256: pkg.sha256 },
    volumes: [packagesVolume(join(workDir, 'packages'))],
    commands: { start: 'exec node server.mjs', reload: 'echo reloaded >> reloads.log' },
    health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 3, failures: 2 },
    data: [{ name: 'content', source: content.url, version: data, sha256: content.sha256, dest: 'data/content' }],
    services: [{ name: 'web', port: 'http' }],
    deploy: {
      step: 1,
      intervalS: 1,
      breakpoint: 1,
      stopTimeoutS: 3,
      maxFailures: 1,
      autoRollback: true,
      deployTimeoutS: 60,
    },
    failure: { backoffS: 2, maxBackoffS: 10, blacklistAfter: 5 },
    ...extra,
  });
}

/** What a pod's service answers on `/`. */
async function served(port: number): Promise<{ version: string; pid: number; message: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as { version: string; pid: number; message: string }) : undefined;
  } catch {
    return undefined;
  }
}

const healthyPods = (job: JobStatus) => job.pods.filter((p) => p.phase === 'running' && p.health === 'healthy');

/** Waits until the job has exactly `n` pods, all healthy, no update running; says what it saw if not. */
async function settled(n: number, timeoutMs = 90_000): Promise<JobStatus> {
  let last: JobStatus | undefined;
  try {
    return await eventually(
      async () => {
        last = await api.showJob({ name: 'hello' });
        return last.update === undefined && last.pods.length === n && healthyPods(last).length === n && last;
      },
      timeoutMs,
      `${n} healthy pods`,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen:\n${last ? renderJob(last, 'table') : 'nothing'}`, {
      cause: error,
    });
  }
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-appmaster-'));
  await mkdir(join(workDir, 'packages'));
  const hello = join(packageRoot(), 'examples', 'hello-service');
  for (const version of ['1.0.0', '2.0.0', '3.0.0']) {
    packages[version] = await createPackage(hello, join(workDir, 'packages', `hello-${version}.tar.gz`));
  }
  for (const text of ['first words', 'second words']) {
    const dir = join(workDir, `content-${text.split(' ')[0] ?? ''}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'message.txt'), `${text}\n`);
    packages[text] = await createPackage(dir, join(workDir, 'packages', `content-${text.split(' ')[0] ?? ''}.tar.gz`));
  }
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100 },
  });
  agent = await startAgent({
    master: master.address,
    workDir: join(workDir, 'agent'),
    resources: 'cpus:4;mem:4GiB;disk:4GiB;ports:[32000-32999]',
    isolation,
    cgroupRoot,
    // Pods read the file:// packages through a read-only bind of their directory.
    allowedHostPaths: join(workDir, 'packages'),
    logLevel: 'silent',
  });
  await eventually(() => agent.connected, 5000, 'the agent to register');
  const coordUrl = `local:${join(workDir, 'coord')}`;
  appmaster = await runFramework('appmaster', {
    master: master.address,
    options: { listen: '127.0.0.1:0', coordinator: coordUrl },
  });
  api = appMasterClient(appmaster.framework.endpoint ?? '');
  coordinator = await openCoordinator(coordUrl);
}, 60_000);

afterAll(async () => {
  api.close();
  await coordinator.close();
  await appmaster.stop();
  await agent.stop();
  await master.stop();
  const left = processesWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`);
  killWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`);
  const driver = detectCgroupDriver();
  if (isolation !== '') await driver.remove(cgroupRoot, ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']);
  await rm(workDir, { recursive: true, force: true });
  expect(left).toEqual([]);
}, 60_000);

describe('the AppMaster on real containers', { timeout: 120_000 }, () => {
  it('refuses bad specs with clear errors and stores nothing', async () => {
    const good = JSON.parse(helloSpec('1.0.0', 'first words')) as Record<string, unknown>;
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
    expect(await coordinator.list(JOBS_PREFIX)).toEqual([]);
  });

  it('deploys 3 replicas, publishes them to naming, and serves v1', async () => {
    await api.submitJob({ specJson: helloSpec('1.0.0', 'first words') });
    const job = await settled(3);
    // The pods run in their owner's role (an open server's caller), which the AppMaster holds.
    const id = appmaster.driver.frameworkId;
    expect(master.view.frameworks().find((f) => f.info?.id === id)?.info?.roles).toEqual(['anonymous']);
    const pods = master.view.tasks(id).filter((t) => job.pods.some((p) => p.taskId === t.taskId));
    expect(pods.map((t) => t.role)).toEqual(['anonymous', 'anonymous', 'anonymous']);
    const endpoints = await eventually(
      async () => {
        const listed = await resolveEndpoints(coordinator, 'hello');
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
    const before = await api.showJob({ name: 'hello' });
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
    await api.updateJob({ specJson: helloSpec('2.0.0', 'first words') });
    const paused = await eventually(
      async () => {
        const job = await api.showJob({ name: 'hello' });
        return job.update?.paused === true && job;
      },
      60_000,
      'the breakpoint',
    );
    expect(paused.state).toBe('paused');
    expect(paused.update).toMatchObject({ updated: 1, total: 3, pausedReason: 'breakpoint after 1 pod' });
    // Paused means paused: nothing else moves.
    await new Promise((r) => setTimeout(r, 2000));
    expect((await api.showJob({ name: 'hello' })).pods.filter((p) => p.version === '2.0.0')).toHaveLength(1);
    await api.controlUpdate({ name: 'hello', control: UpdateControl.UPDATE_CONTINUE });
    const after = await settled(3);
    sampling.on = false;
    await sampler;
    expect(after.version).toBe('2.0.0');
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(containers);
    for (const pod of after.pods) expect(await served(pod.ports.http ?? 0)).toMatchObject({ version: '2.0.0' });
    expect(samples.length).toBeGreaterThan(20);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
  });

  it('rolls a broken v3 back to v2 on its own', async () => {
    const containers = (await api.showJob({ name: 'hello' })).pods.map((p) => p.taskId).sort();
    await api.updateJob({ specJson: helloSpec('3.0.0', 'first words', { env: { HELLO_BROKEN: '1' } }) });
    await eventually(
      async () => (await api.showJob({ name: 'hello' })).update?.rollingBack === true,
      60_000,
      'the rollback to start',
    );
    const after = await settled(3);
    expect(after.version).toBe('2.0.0');
    expect(after.pods.every((p) => p.version === '2.0.0')).toBe(true);
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(containers);
  });

  it('restarts a crashed service with backoff, in the same container', async () => {
    const before = await api.showJob({ name: 'hello' });
    const pod = before.pods[0];
    if (!pod) throw new Error('no pod');
    await fetch(`http://127.0.0.1:${pod.ports.http ?? 0}/crash`).catch(() => undefined);
    const delayed = await eventually(
      async () =>
        (await api.showJob({ name: 'hello' })).pods.find((p) => p.podId === pod.podId && p.phase === 'delayed'),
      15_000,
      'the delayed state',
    );
    expect(delayed.delayedUntil).toBeGreaterThan(Date.now() - 1000);
    expect(delayed.lastExitCode).toBe(1);
    const after = await settled(3);
    const again = after.pods.find((p) => p.podId === pod.podId);
    expect(again).toMatchObject({ taskId: pod.taskId, health: 'healthy' });
    expect(again?.restarts).toBeGreaterThan(pod.restarts);
  });

  it('reloads a data package without restarting the service', async () => {
    const job = await api.showJob({ name: 'hello' });
    const before = await Promise.all(job.pods.map((p) => served(p.ports.http ?? 0)));
    const noBreakpoint = { step: 1, intervalS: 0, stopTimeoutS: 3, maxFailures: 1, autoRollback: true };
    await api.updateJob({ specJson: helloSpec('2.0.0', 'second words', { deploy: noBreakpoint }) });
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
    await settled(3);
  });

  it('runs a command in a pod', async () => {
    const pod = (await api.showJob({ name: 'hello' })).pods[0];
    const result = await api.execPod({
      name: 'hello',
      podId: pod?.podId ?? '',
      command: 'cat reloads.log; echo "pod=$GALAXY_POD_ID"',
      timeoutS: 10,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain(`pod=${pod?.podId ?? ''}`);
  });

  it('scales 3 → 5 → 2', async () => {
    await api.scaleJob({ name: 'hello', replicas: 5 });
    await settled(5);
    await api.scaleJob({ name: 'hello', replicas: 2 });
    const job = await settled(2);
    await eventually(async () => (await resolveEndpoints(coordinator, 'hello')).length === 2, 10_000, 'naming of 2');
    expect(job.pods.map((p) => p.index).sort()).toEqual([0, 1]);
  });

  it('replaces one pod on request, with a new container', async () => {
    const before = await api.showJob({ name: 'hello' });
    const pod = before.pods[0];
    if (!pod) throw new Error('no pod');
    await api.recoverPod({ name: 'hello', podId: pod.podId });
    const after = await eventually(
      async () => {
        const job = await settled(2);
        const again = job.pods.find((p) => p.podId === pod.podId);
        return again !== undefined && again.taskId !== pod.taskId && job;
      },
      60_000,
      'a new container for the pod',
    );
    expect(after.pods.find((p) => p.podId === before.pods[1]?.podId)?.taskId).toBe(before.pods[1]?.taskId);
  });

  it('replaces containers, one at a time, when resources change', async () => {
    const before = await api.showJob({ name: 'hello' });
    const noBreakpoint = { step: 1, intervalS: 0, stopTimeoutS: 3, maxFailures: 1, autoRollback: true };
    const resources = { cpu: { millicores: 200, excess: true }, memory: { hard: '320Mi' } };
    const updating = await api.updateJob({
      specJson: helloSpec('2.0.0', 'second words', { deploy: noBreakpoint, resources, replicas: 2 }),
    });
    expect(updating.update?.toRevision).toBeGreaterThan(updating.update?.fromRevision ?? 0);
    const after = await eventually(
      async () => {
        const job = await settled(2);
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
    const stopped = await api.stopJob({ name: 'hello' });
    expect(stopped.state).toBe('stopped');
    await eventually(async () => (await api.showJob({ name: 'hello' })).pods.length === 0, 30_000, 'no pods');
    await eventually(async () => (await resolveEndpoints(coordinator, 'hello')).length === 0, 10_000, 'no endpoints');
    await api.scaleJob({ name: 'hello', replicas: 2 });
    await settled(2);
  });

  it('keeps the pods when the AppMaster restarts: it recovers the job and the workers reconnect', async () => {
    const before = await api.showJob({ name: 'hello' });
    const address = appmaster.framework.endpoint ?? '';
    await appmaster.stop();
    appmaster = await runFramework('appmaster', {
      master: master.address,
      options: { listen: address, coordinator: `local:${join(workDir, 'coord')}` },
    });
    expect(appmaster.framework.endpoint).toBe(address);
    const after = await eventually(
      async () => {
        const job = await api.showJob({ name: 'hello' }).catch(() => undefined);
        return job !== undefined && job.pods.length === 2 && healthyPods(job).length === 2 && job;
      },
      30_000,
      'the recovered job to be healthy',
    );
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(before.pods.map((p) => p.taskId).sort());
  });

  it('fails over to a standby AppMaster: the workers follow it and the pods stay', async () => {
    const before = await api.showJob({ name: 'hello' });
    const coordUrl = `local:${join(workDir, 'coord')}`;
    const standbyStarting = runFramework('appmaster', {
      master: master.address,
      options: { listen: '127.0.0.1:0', coordinator: coordUrl },
    });
    // The standby waits for leadership; the leader keeps serving meanwhile.
    await new Promise((r) => setTimeout(r, 1000));
    const during = await api.showJob({ name: 'hello' }).catch((e: unknown) => {
      throw new Error(`the leader stopped answering while a standby waits: ${String(e)}`, { cause: e });
    });
    expect(during.pods).toHaveLength(2);
    await appmaster.stop();
    appmaster = await standbyStarting;
    const moved = appmaster.framework.endpoint ?? '';
    expect(moved).not.toBe('');
    api.close();
    api = appMasterClient(moved);
    const after = await eventually(
      async () => {
        const job = await api.showJob({ name: 'hello' });
        const fresh = job.pods.every((p) => p.updatedAt > Date.now() - 5000);
        return fresh && healthyPods(job).length === 2 && job;
      },
      30_000,
      'the workers to pull from the new leader',
    );
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(before.pods.map((p) => p.taskId).sort());
  });

  it('says why pods are pending: which resource, on how many hosts', async () => {
    const huge = JSON.parse(helloSpec('1.0.0', 'first words')) as Record<string, unknown>;
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
    await api.removeJob({ name: 'hello' });
    await expect(api.showJob({ name: 'hello' })).rejects.toMatchObject({ code: 'GALAXY_E_JOB_UNKNOWN' });
    await eventually(() => agent.tasks.size === 0, 30_000, 'the containers to go');
    expect(await resolveEndpoints(coordinator, 'hello')).toEqual([]);
    expect(await coordinator.list(JOBS_PREFIX)).toEqual([]);
    await eventually(
      () => processesWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`).length === 0,
      10_000,
      'the processes to go',
    );
    if (isolation !== '') {
      const driver = detectCgroupDriver();
      expect(await driver.children(cgroupRoot)).toEqual([]);
    }
  });
});
