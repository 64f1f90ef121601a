/**
 * A whole Galaxy cluster as separate processes, for the chaos tests: a real 3-node ZooKeeper
 * ensemble, `galaxy master` candidates, one `galaxy agent` running real Linux containers, and
 * `galaxy appmaster` candidates, all finding each other through ZooKeeper. The tests kill
 * processes and ZooKeeper servers as a failure would, and start processes again as a supervisor
 * would ({@link ChaosCluster.restartExited}).
 *
 * `stop()` removes everything the cluster started, even after a failed test: processes, task
 * processes, cgroups, the ensemble and the temporary directory.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';

import { renderJob } from '../../cli/job-view.js';
import { operatorClient, type Operator, appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import { packageRoot } from '../../core/paths.js';
import { isTerminal } from '../../core/task-state.js';
import { createPackage, type BuiltPackage } from '../../frameworks/appmaster/appworker/package.js';
import { packagesVolume } from './packages.js';
import type { JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from './async-queue.js';
import { bootstrapAdminToken, writeJoinToken } from './identity.js';
import { agentJoinToken } from '../../cli/local-identity.js';
import { healthyPods, running, runningTaskIds, zkSessions } from './chaos-probes.js';
import {
  galaxy,
  killWithEnv,
  processesWithEnv,
  releaseUidClaims,
  removeAgentNetworks,
  shutdownAgent,
  type GalaxyProcess,
} from './processes.js';
import { freePort, startZkEnsemble, type ZkEnsemble } from './zk-ensemble.js';

/** How a {@link ChaosCluster} is made. */
export interface ChaosClusterOptions {
  /** Names the temporary directory and the agent's cgroup root. */
  readonly name: string;
  /** The ZooKeeper session timeout of every process (`zk://…?session=<n>ms`). */
  readonly sessionMs: number;
  readonly masters: number;
  readonly appmasters: number;
  /** The agent's port range, e.g. `24000-24499` (distinct per test file: files run in parallel). */
  readonly ports: string;
  /** Protect Galaxy's znodes with a cluster secret (every process gets `&secret=<file>`). */
  readonly secret?: boolean;
  /** The agent's `--isolation` (default `cpu,memory,pids`: pods share the host's network). */
  readonly isolation?: string;
  /**
   * The address AppMasters listen on (default 127.0.0.1). Pods in their own network namespace
   * (the tcp isolator) cannot reach the agent's loopback: give them the machine's address.
   */
  readonly appmasterHost?: string;
}

/** A `galaxy master` or `galaxy appmaster` process and the address it serves on. */
export interface Daemon {
  readonly proc: GalaxyProcess;
  readonly address: string;
}

/** The running cluster; see the module comment. */
export class ChaosCluster {
  /** Every master started, in order, including those that exited. */
  readonly masters: Daemon[] = [];
  /** Every AppMaster started, in order, including those that exited. */
  readonly appmasters: Daemon[] = [];
  agent: GalaxyProcess | undefined;
  private readonly apis = new Map<string, AppMasterApi>();
  private readonly packages = new Map<string, BuiltPackage>();
  /** Exited daemons a supervisor has started again. */
  private readonly replaced = new Set<Daemon>();
  /** The admin token every process and client of the cluster calls with (daemons with a coordinator authenticate). */
  private token = '';

  private constructor(
    readonly options: ChaosClusterOptions,
    readonly zk: ZkEnsemble,
    readonly dir: string,
    readonly cgroupRoot: string,
  ) {}

  /** The environment of every process the cluster starts: its admin token. */
  private get env(): Record<string, string> {
    return { GALAXY_TOKEN: this.token };
  }

  /** The coordinator URL every process uses. */
  get url(): string {
    const secret = this.options.secret ? `&secret=${this.secretFile}` : '';
    return `zk://${this.zk.connectString}/chaos?session=${this.options.sessionMs}ms${secret}`;
  }

  /** The cluster secret's file (0600), when the cluster has one. */
  get secretFile(): string {
    return join(this.dir, 'cluster.secret');
  }

  /** The agent's work directory: every task process carries it in `GALAXY_SANDBOX`. */
  /** Where the hello packages are: bound into each pod read-only, allowed by the agent. */
  get packagesDir(): string {
    return join(this.dir, 'packages');
  }

  get agentDir(): string {
    return join(this.dir, 'agent');
  }

  /** Starts the ensemble, the masters (the first leads), the agent and the AppMasters (the first leads). */
  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const dir = await mkdtemp(join(tmpdir(), `galaxy-chaos-${options.name}-`));
    const cgroupRoot = `galaxy-chaos-${options.name}-test-${randomBytes(4).toString('hex')}`;
    let zk: ZkEnsemble;
    try {
      zk = await startZkEnsemble(3);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    const cluster = new ChaosCluster(options, zk, dir, cgroupRoot);
    try {
      if (options.secret) await writeFile(cluster.secretFile, randomBytes(32).toString('base64'), { mode: 0o600 });
      cluster.token = await bootstrapAdminToken(cluster.url);
      const hello = join(packageRoot(), 'examples', 'hello-service');
      await mkdir(cluster.packagesDir);
      for (const version of ['1.0.0', '2.0.0'])
        cluster.packages.set(version, await createPackage(hello, join(cluster.packagesDir, `hello-${version}.tar.gz`)));
      for (let i = 0; i < options.masters; i++) await cluster.startMaster();
      const leader = await cluster.leadingMaster(30_000);
      await cluster.startAgent();
      await eventually(
        async () =>
          (await cluster.withOperator(leader, (op) => op.listAgents({}).then((r) => r.agents)).catch(() => [])).some(
            (a) => a.active,
          ),
        30_000,
        'the agent to register',
      );
      for (let i = 0; i < options.appmasters; i++) await cluster.startAppMaster();
      await cluster.leadingAppMaster(30_000);
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** Starts a master candidate on a free port; resolves once it contends. */
  async startMaster(): Promise<Daemon> {
    const proc = galaxy(
      [
        'master',
        '--listen',
        '127.0.0.1:0',
        '--coordinator',
        this.url,
        '--allocation-interval',
        '0.1',
        '--agent-reregister-timeout',
        '30',
      ],
      this.env,
    );
    const line = await proc.lines.waitFor((l) => /^master \S+ contending/.test(l), 30_000, 'the master to contend');
    const daemon = { proc, address: line.split(' ')[1] ?? '' };
    this.masters.push(daemon);
    return daemon;
  }

  /**
   * Starts the agent (real containers; it finds the master through ZooKeeper). It joins with a
   * join token and keeps its own credential: it holds no user's token.
   */
  async startAgent(): Promise<GalaxyProcess> {
    const joinToken = await writeJoinToken(join(this.dir, 'join.token'), await agentJoinToken(this.url));
    this.agent = galaxy(
      [
        'agent',
        '--join-token-file',
        joinToken,
        '--master',
        this.url,
        '--work-dir',
        this.agentDir,
        '--resources',
        `cpus:4;mem:4GiB;ports:[${this.options.ports}]`,
        '--isolation',
        this.options.isolation ?? 'cpu,memory,pids',
        '--cgroup-root',
        this.cgroupRoot,
        '--allowed-host-paths',
        this.packagesDir,
      ],
      this.env,
    );
    return this.agent;
  }

  /** Starts an AppMaster candidate on `address` (default: a free port); resolves once it stands by or leads. */
  async startAppMaster(address?: string): Promise<Daemon> {
    const listen = address ?? `${this.options.appmasterHost ?? '127.0.0.1'}:${await freePort()}`;
    const proc = galaxy(['appmaster', '--master', this.url, '--listen', listen, '--coordinator', this.url], this.env);
    await proc.lines.waitFor(
      (l) => l.includes('AppMaster standing by') || /^AppMaster \S+ leads/.test(l),
      30_000,
      'the AppMaster to contend',
    );
    const daemon = { proc, address: listen };
    this.appmasters.push(daemon);
    return daemon;
  }

  /**
   * Does what a supervisor does: starts again, with the same flags, every master and AppMaster
   * that exited (an AppMaster on its old address). Returns the new daemons.
   */
  async restartExited(): Promise<Daemon[]> {
    const started: Daemon[] = [];
    for (const master of this.masters.filter((d) => !running(d.proc) && !this.replaced.has(d))) {
      this.replaced.add(master);
      started.push(await this.startMaster());
    }
    for (const appmaster of this.appmasters.filter((d) => !running(d.proc) && !this.replaced.has(d))) {
      this.replaced.add(appmaster);
      started.push(await this.startAppMaster(appmaster.address));
    }
    return started;
  }

  /** Runs `fn` with an operator client of `master`. */
  async withOperator<T>(master: Daemon, fn: (op: Operator) => Promise<T>): Promise<T> {
    const op = operatorClient(master.address, this.token);
    try {
      return await fn(op);
    } finally {
      op.close();
    }
  }

  /** The live masters that answer operator calls as the leader now (at most one, unless a bug). */
  async actingMasters(): Promise<Daemon[]> {
    const live = this.masters.filter((m) => running(m.proc));
    const answers = await Promise.all(
      live.map((m) =>
        this.withOperator(m, (op) => op.listAgents({}).then((r) => r.agents)).then(
          () => true,
          () => false,
        ),
      ),
    );
    return live.filter((_, i) => answers[i]);
  }

  /** The master that answers as the leader, polled until one does. */
  async leadingMaster(timeoutMs: number): Promise<Daemon> {
    return eventually(async () => (await this.actingMasters())[0], timeoutMs, 'a master to lead');
  }

  /** The client of the AppMaster at `daemon` (kept until `stop`). */
  api(daemon: Daemon): AppMasterApi {
    let api = this.apis.get(daemon.address);
    if (!api) {
      api = appMasterClient(daemon.address, this.token);
      this.apis.set(daemon.address, api);
    }
    return api;
  }

  /** The live AppMasters that answer API calls as the leader now. */
  async actingAppMasters(): Promise<Daemon[]> {
    const live = this.appmasters.filter((a) => running(a.proc));
    const answers = await Promise.all(
      live.map((a) =>
        this.api(a)
          .listJobs({})
          .then((r) => r.jobs)
          .then(
            () => true,
            () => false,
          ),
      ),
    );
    return live.filter((_, i) => answers[i]);
  }

  /** The AppMaster that answers as the leader, polled until one does. */
  async leadingAppMaster(timeoutMs: number): Promise<Daemon> {
    return eventually(async () => (await this.actingAppMasters())[0], timeoutMs, 'an AppMaster to lead');
  }

  /** The AppMaster framework's live (not terminal) tasks, as `master` lists them. */
  async liveTasks(master: Daemon): Promise<Task[]> {
    const frameworks = await this.withOperator(master, (op) => op.listFrameworks({}).then((r) => r.frameworks));
    const ids = frameworks.filter((f) => f.info?.name === 'appmaster').map((f) => f.info?.id ?? '');
    const tasks = await this.withOperator(master, (op) => op.listTasks({ frameworkId: '' }).then((r) => r.tasks));
    return tasks.filter((t) => ids.includes(t.frameworkId) && !isTerminal(t.state));
  }

  /** Sorted ids of the tasks that have live processes on the agent: the containers that really run. */
  containers(): string[] {
    return runningTaskIds(this.agentDir);
  }

  /** The ZooKeeper sessions on the running servers, by id, each with the process holding it (`master 0`, `agent`, …). */
  zkSessions(): Promise<Map<string, string>> {
    return zkSessions(this.zk.servers, [
      ...this.masters.map((m, i) => [`master ${i}`, m.proc.child.pid] as const),
      ['agent', this.agent?.child.pid],
      ...this.appmasters.map((a, i) => [`appmaster ${i}`, a.proc.child.pid] as const),
    ]);
  }

  /** The hello job at `version`; `extra` overrides fields of the spec. */
  helloSpec(version: string, replicas: number, extra: Record<string, unknown> = {}): string {
    const pkg = this.packages.get(version);
    if (!pkg) throw new Error(`no hello package ${version}`);
    return JSON.stringify({
      name: 'hello',
      replicas,
      ports: [{ name: 'http' }],
      resources: { cpu: { millicores: 100, excess: true }, memory: { hard: '256Mi' } },
      package: { source: pkg.url, version, sha256: pkg.sha256 },
      volumes: [packagesVolume(this.packagesDir)],
      commands: { start: 'exec node server.mjs' },
      health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 3, failures: 2 },
      deploy: { step: 1, intervalS: 1, stopTimeoutS: 3, maxFailures: 1, autoRollback: true, deployTimeoutS: 90 },
      failure: { backoffS: 1, maxBackoffS: 10, blacklistAfter: 5 },
      ...extra,
    });
  }

  /** Waits until the job has exactly `n` pods, all healthy, and no update runs; says what it saw if not. */
  async settled(api: AppMasterApi, n: number, timeoutMs = 90_000): Promise<JobStatus> {
    let last: JobStatus | undefined;
    try {
      return await eventually(
        async () => {
          last = await api.showJob({ name: 'hello' }).catch(() => last);
          if (last === undefined) return false;
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

  /** The last `n` output lines of every process, to explain a failure. */
  tail(n = 15): string {
    const procs: [string, GalaxyProcess | undefined][] = [
      ...this.masters.map((m, i): [string, GalaxyProcess] => [`master ${i} (${m.address})`, m.proc]),
      ['agent', this.agent],
      ...this.appmasters.map((a, i): [string, GalaxyProcess] => [`appmaster ${i} (${a.address})`, a.proc]),
    ];
    return procs
      .map(([name, p]) => {
        const lines = (p?.lines.items ?? []).slice(-n).join('\n');
        return `--- ${name}, exit code ${String(p?.child.exitCode)}\n${lines}`;
      })
      .join('\n');
  }

  /**
   * Stops everything: the AppMasters, the agent and the masters, then whatever task processes
   * remain (the pods outlive their agent by design), the cgroups, the ensemble and the directory.
   */
  async stop(): Promise<void> {
    for (const api of this.apis.values()) api.close();
    this.apis.clear();
    const errors: unknown[] = [];
    const attempt = async (fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (error) {
        errors.push(error);
      }
    };
    await attempt(() => Promise.all(this.appmasters.map((a) => a.proc.stop('SIGTERM', 5000))));
    // Through a leading master, the agent kills its containers as it goes (a signal would leave them).
    await attempt(async () => {
      if (this.agent) await shutdownAgent(this.agent, this.agentDir, this.url, this.env);
    });
    await attempt(() => Promise.all(this.masters.map((m) => m.proc.stop('SIGTERM', 5000))));
    const needle = `GALAXY_SANDBOX=${this.agentDir}`;
    await attempt(() =>
      eventually(
        () => {
          killWithEnv(needle);
          return processesWithEnv(needle).length === 0;
        },
        10_000,
        'the task processes to go',
      ),
    );
    releaseUidClaims(this.agentDir);
    removeAgentNetworks(this.cgroupRoot);
    await attempt(() =>
      detectCgroupDriver().remove(this.cgroupRoot, ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'freezer']),
    );
    await attempt(() => this.zk.stop());
    await attempt(() => rm(this.dir, { recursive: true, force: true }));
    if (errors.length > 0) throw new AggregateError(errors, 'the chaos cluster did not stop cleanly');
  }
}
