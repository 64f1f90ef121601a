/**
 * A real cluster for the safe-deploy tests (test/e2e/deploy-*.test.ts): a master, one agent
 * running pods in Linux containers (cgroups and namespaces where the machine has them), and the
 * AppMaster with real AppWorkers pulling over gRPC; hello-service packages of several versions;
 * and a sampler that asks every pod's service over HTTP the whole time an update runs.
 * One cluster per test file; `stop` kills what it left and removes its cgroups and directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type Agent } from '../../agent/agent.js';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import { renderJob } from '../../cli/job-view.js';
import { autoIsolation } from '../../cli/up.js';
import { packageRoot } from '../../core/paths.js';
import { createPackage } from '../../frameworks/appmaster/appworker/package.js';
import { runFramework, type FrameworkHandle } from '../../frameworks/host/host.js';
import { startMaster, type Master } from '../../master/master.js';
import type { JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { eventually } from './async-queue.js';
import { packagesVolume } from './packages.js';
import { killWithEnv, processesWithEnv } from './processes.js';

/** A running deploy cluster. */
export interface DeployCluster {
  readonly workDir: string;
  /**
   * A client of `appmaster`. A test that restarts the AppMaster or fails it over sets the new
   * handle and client here, so that `stop` stops (and closes) the current ones.
   */
  api: AppMasterApi;
  readonly master: Master;
  /** The agent (a new one after {@link DeployCluster.restartAgent}). */
  agent: Agent;
  /** Stops the agent as SIGTERM does (its containers go) and starts it again on its work dir. */
  restartAgent(): Promise<void>;
  /** The AppMaster serving `api` (see `api`). */
  appmaster: FrameworkHandle;
  readonly coordinator: string;
  /** The agent's isolators (`autoIsolation()`; empty where the machine has no cgroups). */
  readonly isolation: string;
  /** The agent's cgroup root, unique to this cluster (`galaxy-<label>-<random>`). */
  readonly cgroupRoot: string;
  /** `GALAXY_SANDBOX=<the agent's work dir>`: in the environment of every task of the agent. */
  readonly sandbox: string;
  /** The hello job `name` at `version` (1.0.0, 2.0.0, 3.0.0), `replicas` pods, `extra` fields over the defaults. */
  spec(name: string, version: string, replicas: number, extra?: Record<string, unknown>): string;
  /** Waits until `name` has `n` pods, all healthy, and no update; the error shows the job. */
  settled(name: string, n: number, timeoutMs?: number): Promise<JobStatus>;
  /** Waits until `test` holds for the job; the error shows the job. */
  until(name: string, test: (job: JobStatus) => boolean, what: string, timeoutMs?: number): Promise<JobStatus>;
  /** Returns those left running (should be none) after stopping everything. */
  stop(): Promise<string[]>;
}

/** What a pod's service answers on `/`. */
export interface Served {
  readonly version: string;
  readonly pod: string;
  readonly pid: number;
  /** The content of the pod's data package (`data/content/message.txt`), or `hello`. */
  readonly message: string;
}

/** Asks the service on `port` what it is; undefined when it does not answer 200 within a second. */
export async function served(port: number): Promise<Served | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as Served) : undefined;
  } catch {
    return undefined;
  }
}

/** HTTP samples of a job's pods, taken every 100 ms until stopped. */
export interface ServingSampler {
  /** How many pods answered, per sample. */
  readonly samples: number[];
  /** Every answer's version per sample (for canary checks). */
  readonly versions: string[][];
  /** Stops sampling; resolves with the samples. */
  stop(): Promise<number[]>;
}

/**
 * Samples the job's serving pods: each round reads the job (new pods join as they appear) and
 * asks every running pod's `http` port. A pod serves when it answers 200.
 */
export function sampleServing(api: AppMasterApi, name: string): ServingSampler {
  const samples: number[] = [];
  const versions: string[][] = [];
  const state = { on: true };
  const loop = (async () => {
    while (state.on) {
      const job = await api.showJob({ name }).catch(() => undefined);
      const ports = (job?.pods ?? []).map((p) => p.ports.http ?? 0).filter((p) => p > 0);
      const answers = (await Promise.all(ports.map((port) => served(port)))).filter((a) => a !== undefined);
      samples.push(answers.length);
      versions.push(answers.map((a) => a.version));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    samples,
    versions,
    stop: async () => {
      state.on = false;
      await loop;
      return samples;
    },
  };
}

/** Starts the cluster; the agent's ports are `ports` (e.g. `[20000-20199]`), distinct per test file. */
export async function startDeployCluster(
  label: string,
  ports: string,
  options: {
    /** Named disks of the agent (`--disks`), each a directory `disks/<name>` of the cluster's. */
    disks?: readonly { name: string; medium: string; size: string }[];
  } = {},
): Promise<DeployCluster> {
  const isolation = autoIsolation();
  const cgroupRoot = `galaxy-${label}-${randomBytes(4).toString('hex')}`;
  const workDir = await mkdtemp(join(tmpdir(), `galaxy-${label}-`));
  const packagesDir = join(workDir, 'packages');
  await mkdir(packagesDir);
  const hello = join(packageRoot(), 'examples', 'hello-service');
  const packages: Record<string, { url: string; sha256: string }> = {};
  for (const version of ['1.0.0', '2.0.0', '3.0.0'])
    packages[version] = await createPackage(hello, join(packagesDir, `hello-${version}.tar.gz`));
  const master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100 },
  });
  const disks: string[] = [];
  for (const d of options.disks ?? []) {
    await mkdir(join(workDir, 'disks', d.name), { recursive: true });
    disks.push(`${d.name}:${join(workDir, 'disks', d.name)}:${d.medium}:${d.size}`);
  }
  const agentOptions = {
    master: master.address,
    workDir: join(workDir, 'agent'),
    resources: `cpus:4;mem:4GiB;disk:4GiB;ports:${ports}`,
    isolation,
    cgroupRoot,
    allowedHostPaths: packagesDir,
    disks: disks.join(','),
    logLevel: 'silent',
  };
  const agent = await startAgent(agentOptions);
  await eventually(() => agent.connected, 5000, 'the agent to register');
  const coordinator = `local:${join(workDir, 'coord')}`;
  const appmaster = await runFramework('appmaster', {
    master: master.address,
    options: { listen: '127.0.0.1:0', coordinator },
  });
  const api = appMasterClient(appmaster.framework.endpoint ?? '');
  const until = async (name: string, test: (job: JobStatus) => boolean, what: string, timeoutMs = 60_000) => {
    let last: JobStatus | undefined;
    try {
      return await eventually(
        async () => {
          last = await cluster.api.showJob({ name });
          return test(last) && last;
        },
        timeoutMs,
        what,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; last seen:\n${last ? renderJob(last, 'table') : 'nothing'}`, {
        cause: error,
      });
    }
  };
  const sandbox = `GALAXY_SANDBOX=${join(workDir, 'agent')}`;
  const cluster: DeployCluster = {
    workDir,
    api,
    master,
    agent,
    appmaster,
    coordinator,
    isolation,
    cgroupRoot,
    sandbox,
    restartAgent: async () => {
      await cluster.agent.stop();
      cluster.agent = await startAgent(agentOptions);
      await eventually(() => cluster.agent.connected, 10_000, 'the agent to register again');
    },
    spec: (name, version, replicas, extra = {}) => {
      const pkg = packages[version];
      if (!pkg) throw new Error(`no package ${version}`);
      return JSON.stringify({
        name,
        replicas,
        ports: [{ name: 'http' }],
        resources: { cpu: { millicores: 100, excess: true }, memory: { hard: '128Mi' } },
        package: { source: pkg.url, version, sha256: pkg.sha256 },
        volumes: [packagesVolume(packagesDir)],
        commands: { start: 'exec node server.mjs' },
        health: { type: 'http', port: 'http', path: '/health', intervalS: 0.3, timeoutS: 1, graceS: 2, failures: 2 },
        deploy: { step: 1, intervalS: 0, stopTimeoutS: 2, maxFailures: 1, deployTimeoutS: 60 },
        failure: { backoffS: 1, maxBackoffS: 4, blacklistAfter: 5 },
        ...extra,
      });
    },
    settled: (name, n, timeoutMs = 60_000) =>
      until(
        name,
        (job) =>
          job.update === undefined &&
          job.pods.length === n &&
          job.pods.every((p) => p.phase === 'running' && p.health === 'healthy'),
        `${n} healthy pods of ${name}`,
        timeoutMs,
      ),
    until,
    stop: async () => {
      cluster.api.close();
      await cluster.appmaster.stop();
      await cluster.agent.stop();
      await master.stop();
      const left = processesWithEnv(sandbox).map(String);
      killWithEnv(sandbox);
      if (isolation !== '')
        await detectCgroupDriver().remove(cgroupRoot, ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']);
      await rm(workDir, { recursive: true, force: true });
      return left;
    },
  };
  return cluster;
}
