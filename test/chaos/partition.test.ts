/**
 * A network partition on several hosts: a master and an AppMaster on this machine, three agents
 * each in its own network namespace on a private bridge, and the hello service with 2 replicas
 * at most one per host. One agent running a pod is cut off (its link goes down):
 * - after the re-registration timeout the master reports that pod's task UNREACHABLE, and the
 *   AppMaster replaces it on the free host, while the copy behind the partition keeps serving;
 * - when the partition heals, the agent re-registers, the master kills the stale copy, and the
 *   job has exactly its 2 replicas again.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';

import { renderJob } from '../../cli/job-view.js';
import { operatorClient, type Operator, appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import { packageRoot } from '../../core/paths.js';
import { isTerminal } from '../../core/task-state.js';
import { createPackage } from '../../frameworks/appmaster/appworker/package.js';
import { TaskState, type Task } from '../../proto/gen/galaxy/v1/common.js';
import type { JobStatus, PodStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { eventually } from '../helpers/async-queue.js';
import { masterJoinToken, writeJoinToken } from '../helpers/identity.js';
import { startHosts, type Host, type Hosts } from '../helpers/hosts.js';
import { packagesVolume } from '../helpers/packages.js';
import {
  GALAXY_BIN,
  galaxy,
  killWithEnv,
  terminateAll,
  processesWithEnv,
  type GalaxyProcess,
} from '../helpers/processes.js';

/** Master timings: a silent agent is disconnected after 3 missed pings, then removed after 6 s. */
const PING_S = 1;
const REREGISTER_S = 6;
/** The master's built-in `agentMaxMissedPings` (no flag sets it). */
const MISSED_PINGS = 3;

const tag = randomBytes(3).toString('hex');
const cgroupRoot = (i: number) => `galaxy-partition-test-${tag}-${i}`;
let workDir = '';
let hosts: Hosts | undefined;
let master: GalaxyProcess | undefined;
let appmaster: GalaxyProcess | undefined;
const agents: ChildProcess[] = [];
let masterAddress = '';
let frameworkId = '';
let appmasterClient: AppMasterApi | undefined;
let operatorApi: Operator | undefined;
let pkg: { url: string; sha256: string };

/** What the partitioned pod was, and where. */
let stale: { pod: PodStatus; host: Host } | undefined;

/** The hello job: 2 replicas, at most one per host. */
function helloSpec(): string {
  return JSON.stringify({
    name: 'hello',
    replicas: 2,
    maxPerHost: 1,
    ports: [{ name: 'http' }],
    resources: { cpu: { millicores: 200, excess: true }, memory: { hard: '256Mi' } },
    package: { source: pkg.url, version: '1.0.0', sha256: pkg.sha256 },
    volumes: [packagesVolume(join(workDir, 'packages'))],
    commands: { start: 'exec node server.mjs' },
    health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 3, failures: 2 },
    services: [{ name: 'web', port: 'http' }],
    failure: { backoffS: 1, maxBackoffS: 5, blacklistAfter: 5 },
  });
}

/** The AppMaster's API client, once `beforeAll` made it. */
function api(): AppMasterApi {
  if (!appmasterClient) throw new Error('the AppMaster did not start');
  return appmasterClient;
}

/** The master's Operator API client, once `beforeAll` made it. */
function operator(): Operator {
  if (!operatorApi) throw new Error('the master did not start');
  return operatorApi;
}

const hostOf = (pod: PodStatus): Host => {
  const host = hosts?.hosts.find((h) => h.address === pod.hostname);
  if (!host) throw new Error(`pod ${pod.podId} runs on ${pod.hostname}, which is none of the test's hosts`);
  return host;
};

const healthyPods = (job: JobStatus) => job.pods.filter((p) => p.phase === 'running' && p.health === 'healthy');

/** The job's tasks the master does not consider ended (UNREACHABLE ones may still run). */
async function liveTasks(): Promise<Task[]> {
  return (
    await operator()
      .listTasks({ frameworkId })
      .then((r) => r.tasks)
  ).filter((t) => !isTerminal(t.state));
}

/** Waits until the job has exactly `n` pods, all healthy on distinct hosts; says what it saw if not. */
async function settled(n: number, check: (job: JobStatus) => boolean = () => true, timeoutMs = 60_000) {
  let last: JobStatus | undefined;
  try {
    return await eventually(
      async () => {
        last = await api().showJob({ name: 'hello' });
        const healthy = healthyPods(last);
        const distinct = new Set(healthy.map((p) => p.hostname)).size === n;
        return last.pods.length === n && healthy.length === n && distinct && check(last) && last;
      },
      timeoutMs,
      `${n} healthy pods on ${n} hosts`,
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen:\n${last ? renderJob(last, 'table') : 'nothing'}`, {
      cause: error,
    });
  }
}

/** What the service on `host`:`port` answers, asked from inside the host's namespace. */
async function servedOn(host: Host, port: number): Promise<{ version: string; pod: string } | undefined> {
  const curl = host.exec(['curl', '-sf', '--max-time', '1', `http://${host.address}:${port}/`]);
  let out = '';
  curl.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  // 'close', not 'exit': only then has all of stdout been read.
  const code = await new Promise<number | null>((resolve) => curl.once('close', resolve));
  return code === 0 ? (JSON.parse(out) as { version: string; pod: string }) : undefined;
}

/** Host pids of the processes of task `taskId` (the task's environment names it). */
const processesOf = (taskId: string) => processesWithEnv(`GALAXY_TASK_ID=${taskId}\0`);

/** Starts the agent of host `i`, logging to the work dir. */
function startAgent(host: Host, i: number): ChildProcess {
  const child = host.exec(
    [
      process.execPath,
      GALAXY_BIN,
      'agent',
      '--master',
      masterAddress,
      '--hostname',
      host.address,
      '--work-dir',
      join(workDir, `agent-${i}`),
      '--resources',
      'cpus:2;mem:2GiB;ports:[21000-21999]',
      '--isolation',
      'cpu,memory,pids',
      '--cgroup-root',
      cgroupRoot(i),
      '--join-token-file',
      join(workDir, 'join.token'),
      // Pods read the file:// package through a read-only bind of its directory.
      '--allowed-host-paths',
      join(workDir, 'packages'),
    ],
    { GALAXY_LOG_LEVEL: 'info', NO_COLOR: '1' },
  );
  const log = createWriteStream(join(workDir, `agent-${i}.log`));
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-partition-'));
  await mkdir(join(workDir, 'packages'));
  pkg = await createPackage(
    join(packageRoot(), 'examples', 'hello-service'),
    join(workDir, 'packages', 'hello.tar.gz'),
  );
  hosts = startHosts(3);
  const bridge = hosts.bridgeAddress;
  // The master authenticates: its users and agents live in <workDir>/coord, which the AppMaster shares.
  master = galaxy([
    'master',
    '--listen',
    `${bridge}:0`,
    '--work-dir',
    workDir,
    '--agent-ping-interval',
    String(PING_S),
    '--agent-reregister-timeout',
    String(REREGISTER_S),
    '--allocation-interval',
    '0.1',
  ]);
  const started = await master.lines.waitFor((l) => l.includes('"master started"'), 15_000, 'the master to start');
  masterAddress = (JSON.parse(started) as { address: string }).address;
  expect(masterAddress.startsWith(`${bridge}:`)).toBe(true);
  const adminToken = (await readFile(join(workDir, 'admin.token'), 'utf8')).trim();
  operatorApi = operatorClient(masterAddress, adminToken);
  // One join token for the three agents; each exchanges it for its own credential.
  await writeJoinToken(
    join(workDir, 'join.token'),
    await masterJoinToken({ address: masterAddress, adminToken }, 10 * 60_000, 3),
  );
  hosts.hosts.forEach((host, i) => agents.push(startAgent(host, i)));
  await eventually(
    async () =>
      (
        await operator()
          .listAgents({})
          .then((r) => r.agents)
      ).filter((a) => a.active).length === 3,
    20_000,
    '3 agents to register',
  );
  // Listening on the bridge address, the AppMaster is where AppWorkers in every namespace reach it.
  // The AppMaster authenticates against the users of its coordinator (the master's).
  appmaster = galaxy(
    [
      'appmaster',
      '--master',
      masterAddress,
      '--listen',
      `${bridge}:0`,
      '--coordinator',
      `local:${join(workDir, 'coord')}`,
    ],
    { GALAXY_TOKEN: adminToken },
  );
  const leading = /^AppMaster (\S+) leads, subscribed as (\S+)$/;
  const leads = await appmaster.lines.waitFor((l) => leading.test(l), 20_000, 'the AppMaster to lead');
  const match = leading.exec(leads);
  if (!match?.[1] || !match[2]) throw new Error(`unexpected AppMaster line: ${leads}`);
  expect(match[1].startsWith(`${bridge}:`)).toBe(true);
  appmasterClient = appMasterClient(match[1], adminToken);
  frameworkId = match[2];
}, 60_000);

afterEach(async (context) => {
  if (context.task.result?.state !== 'fail') return;
  for (const [i] of agents.entries()) {
    const log = await readFile(join(workDir, `agent-${i}.log`), 'utf8').catch(() => '');
    console.error(`--- agent ${i} (last lines)\n${log.split('\n').slice(-30).join('\n')}`);
  }
  for (const [what, proc] of [
    ['master', master],
    ['appmaster', appmaster],
  ] as const)
    console.error(`--- ${what} (last lines)\n${(proc?.lines.items ?? []).slice(-30).join('\n')}`);
});

afterAll(async () => {
  const left: string[] = [];
  try {
    // Remove the job so that every container ends the ordinary way before the daemons stop.
    if (appmasterClient) {
      await appmasterClient.removeJob({ name: 'hello' }).catch(() => undefined);
      await eventually(() => processesWithEnv(`GALAXY_SANDBOX=${workDir}`).length === 0, 20_000).catch(() => undefined);
      appmasterClient.close();
    }
    operatorApi?.close();
    await appmaster?.stop();
    await terminateAll(agents);
    await master?.stop();
    left.push(...processesWithEnv(`GALAXY_SANDBOX=${workDir}`).map((pid) => `process ${pid}`));
  } finally {
    killWithEnv(`GALAXY_SANDBOX=${workDir}`);
    await hosts?.stop();
    const driver = detectCgroupDriver();
    for (const [i] of agents.entries())
      await driver.remove(cgroupRoot(i), ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']).catch(() => undefined);
    if (workDir !== '') await rm(workDir, { recursive: true, force: true });
  }
  expect(left).toEqual([]);
}, 60_000);

describe('a partitioned agent on several hosts', { timeout: 120_000 }, () => {
  it('deploys 2 replicas of hello on two of the three hosts', async () => {
    await api().submitJob({ specJson: helloSpec() });
    const job = await settled(2);
    for (const pod of job.pods) {
      expect(await servedOn(hostOf(pod), pod.ports.http ?? 0)).toMatchObject({ version: '1.0.0', pod: pod.podId });
    }
    expect((await liveTasks()).map((t) => t.taskId).sort()).toEqual(job.pods.map((p) => p.taskId).sort());
  });

  it('reports the partitioned pod UNREACHABLE after the timeout and replaces it on the free host; the cut-off copy keeps serving', async () => {
    const before = await api().showJob({ name: 'hello' });
    const pod = before.pods[0];
    if (!pod) throw new Error('no pod');
    const host = hostOf(pod);
    stale = { pod, host };
    const other = before.pods.find((p) => p.podId !== pod.podId);
    const cutAt = Date.now();
    host.partition();

    const unreachable = await eventually(
      async () =>
        (
          await operator()
            .listTasks({ frameworkId })
            .then((r) => r.tasks)
        ).find((t) => t.taskId === pod.taskId && t.state !== TaskState.TASK_RUNNING),
      (MISSED_PINGS * PING_S + REREGISTER_S + 10) * 1000,
      `task ${pod.taskId} to leave RUNNING`,
    );
    const elapsedS = (Date.now() - cutAt) / 1000;
    expect(TaskState[unreachable.state]).toBe('TASK_UNREACHABLE');
    expect(unreachable.status?.reason).toBe('agent-reregistration-timeout');
    // Not before the master could know: the pings must be missed, then the timeout must run out.
    expect(elapsedS).toBeGreaterThanOrEqual(REREGISTER_S);
    expect(elapsedS).toBeLessThanOrEqual(MISSED_PINGS * PING_S + REREGISTER_S + 5);

    const after = await settled(2, (job) => job.pods.every((p) => p.hostname !== host.address));
    const moved = after.pods.find((p) => p.podId === pod.podId);
    expect(moved?.taskId).not.toBe(pod.taskId);
    expect(after.pods.find((p) => p.podId === other?.podId)?.taskId).toBe(other?.taskId);
    for (const p of after.pods) expect(await servedOn(hostOf(p), p.ports.http ?? 0)).toMatchObject({ pod: p.podId });
    // The master runs the 2 replicas and still knows of the cut-off copy, as neither running nor ended.
    const tasks = await liveTasks();
    const inState = (state: TaskState) => tasks.filter((t) => t.state === state).map((t) => t.taskId);
    expect(inState(TaskState.TASK_RUNNING).sort()).toEqual(after.pods.map((p) => p.taskId).sort());
    expect(inState(TaskState.TASK_UNREACHABLE)).toEqual([pod.taskId]);

    // Behind the partition, the old copy still runs and serves.
    expect(await servedOn(host, pod.ports.http ?? 0)).toMatchObject({ version: '1.0.0', pod: pod.podId });
    expect(processesOf(pod.taskId).length).toBeGreaterThan(0);
  });

  it('after the partition heals, kills the stale copy and keeps exactly 2 replicas', async () => {
    if (!stale) throw new Error('no partitioned pod');
    const { pod, host } = stale;
    host.heal();
    await eventually(
      async () =>
        (
          await operator()
            .listAgents({})
            .then((r) => r.agents)
        ).find((a) => a.info?.hostname === host.address && a.active),
      30_000,
      `the agent on ${host.address} to re-register`,
    );
    await eventually(() => processesOf(pod.taskId).length === 0, 30_000, `the stale copy ${pod.taskId} to die`);
    expect(await servedOn(host, pod.ports.http ?? 0)).toBeUndefined();
    const ended = await eventually(
      async () =>
        (
          await operator()
            .listTasks({ frameworkId })
            .then((r) => r.tasks)
        ).find((t) => t.taskId === pod.taskId && isTerminal(t.state)),
      10_000,
      `the master to record the end of ${pod.taskId}`,
    );
    expect(TaskState[ended.state]).toBe('TASK_KILLED');

    const job = await settled(2);
    // Exact, and it stays exact: no duplicate appears once the agent is back.
    await new Promise((r) => setTimeout(r, 3000));
    const again = await settled(2);
    expect(again.pods.map((p) => p.taskId).sort()).toEqual(job.pods.map((p) => p.taskId).sort());
    expect((await liveTasks()).map((t) => t.taskId).sort()).toEqual(job.pods.map((p) => p.taskId).sort());
    expect(job.pods.some((p) => p.taskId === pod.taskId)).toBe(false);
  });
});
