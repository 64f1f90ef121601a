/**
 * A master and a containerizing agent in this process, with a hand-driven framework: the harness
 * of the kernel tests. Stopping it reports what it left behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type Agent } from '../../agent/agent.js';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { startMaster, type Master } from '../../master/master.js';
import type { LogRotation } from '../../core/task-logs.js';
import type { AgentOptions } from '../../agent/options.js';
import { Limits, TaskState, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from './async-queue.js';
import { killWithEnv, processesWithEnv } from './processes.js';
import { rawFramework, type RawFramework } from './raw-clients.js';
import { statusOf } from './framework-events.js';

/** What a kernel test launches: a shell command plus whatever else it sets. */
export type TaskRequest = Partial<Omit<TaskInfo, 'command'>> & {
  readonly shell: string;
  readonly user?: string;
  /** The command's environment. */
  readonly env?: Record<string, string>;
};

/** The running harness. */
export interface KernelCluster {
  readonly master: Master;
  readonly agent: Agent;
  readonly fw: RawFramework;
  readonly workDir: string;
  readonly cgroupRoot: string;
  /** A host directory outside the agent's work dir that the agent allows bind volumes from (rw). */
  readonly shared: string;
  /** Launches one task on every outstanding offer; returns its id. */
  launch(request: TaskRequest): Promise<string>;
  /** The task's first update in one of `states`. */
  until(taskId: string, states: TaskState[], timeoutMs?: number): Promise<TaskStatus>;
  /** KILLs the task and waits for its end. */
  kill(taskId: string): Promise<TaskStatus>;
  /** The task's sandbox, found on disk (the agent forgets a task once its end is acknowledged). */
  sandboxOf(taskId: string): Promise<string>;
  /** Stops everything; returns what was left behind (processes, cgroups) and removes it. */
  stop(): Promise<string[]>;
}

/** Starts the harness with an agent of `resources` and `isolation`. */
export async function startKernelCluster(options: {
  name: string;
  isolation: string;
  resources: string;
  /** How the agent rotates task output (default 10 MiB × 5). */
  logRotation?: LogRotation;
  /** The agent's cpu lending settings and idle source. */
  cpuLend?: AgentOptions['cpuLend'];
  /** The agent's named disks (`--disks`); their directories must exist. */
  disks?: string;
  /** A directory whose mount points are the agent's disks (`--disks-from`), and their media (`--disk-medium`). */
  disksFrom?: string;
  diskMedium?: string;
}): Promise<KernelCluster> {
  const cgroupRoot = `galaxy-${options.name}-test-${randomBytes(4).toString('hex')}`;
  const workDir = await mkdtemp(join(tmpdir(), `galaxy-${options.name}-`));
  const shared = await mkdtemp(join(tmpdir(), `galaxy-${options.name}-shared-`));
  const master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 50 },
  });
  const agent = await startAgent({
    master: master.address,
    workDir,
    resources: options.resources,
    isolation: options.isolation,
    cgroupRoot,
    allowedHostPaths: `${shared}:rw`,
    ...(options.disks ? { disks: options.disks } : {}),
    ...(options.disksFrom ? { disksFrom: options.disksFrom } : {}),
    ...(options.diskMedium ? { diskMedium: options.diskMedium } : {}),
    logLevel: 'silent',
    ...(options.logRotation ? { logRotation: options.logRotation } : {}),
    ...(options.cpuLend ? { cpuLend: options.cpuLend } : {}),
  });
  await eventually(() => agent.connected, 5000, 'the agent to register');
  const fw = rawFramework(master.address, { name: `${options.name}-test` }, true);
  const frameworkId = await fw.frameworkId;
  const used = new Set<string>();
  let counter = 0;

  /** Offers received and neither rescinded nor used yet. */
  const outstanding = (): string[] => {
    const rescinded = new Set(
      fw.events.items.flatMap((e) => (e.event?.$case === 'rescind' ? [e.event.rescind.offerId] : [])),
    );
    return fw.events.items
      .flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers.map((o) => o.id) : []))
      .filter((id) => !rescinded.has(id) && !used.has(id));
  };

  const until = async (taskId: string, states: TaskState[], timeoutMs = 15_000): Promise<TaskStatus> => {
    const wanted = (e: Event): boolean =>
      statusOf(e)?.taskId === taskId && states.includes(statusOf(e)?.state ?? TaskState.TASK_STATE_UNSPECIFIED);
    const e = await fw.events.waitFor(wanted, timeoutMs, `${taskId} in ${states.map((s) => TaskState[s]).join('/')}`);
    return statusOf(e) as TaskStatus;
  };

  return {
    master,
    agent,
    fw,
    workDir,
    cgroupRoot,
    shared,
    until,
    async launch(request) {
      counter += 1;
      const { shell, user, env, ...rest } = request;
      const task: TaskInfo = {
        taskId: `${options.name}${counter}`,
        name: `${options.name}${counter}`,
        agentId: '',
        resources: { cpus: 100, mem: 32 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
        labels: [],
        killGraceS: 1,
        volumes: [],
        limits: Limits.create(),
        ...rest,
        command: { shell, argv: [], env: env ?? {}, user: user ?? '' },
      };
      // Offers come and go; use every outstanding one (one agent here), as a real framework would.
      await fw.call({ call: { $case: 'revive', revive: { roles: [] } } });
      const offerIds = await eventually(
        () => {
          const open = outstanding();
          return open.length > 0 && open;
        },
        5000,
        'an offer',
      );
      for (const id of offerIds) used.add(id);
      try {
        await fw.call({
          call: {
            $case: 'accept',
            accept: { offerIds, operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task] } } }] },
          },
        });
      } catch (error) {
        // A refused ACCEPT changes nothing: its offers are still outstanding, for the next launch.
        for (const id of offerIds) used.delete(id);
        throw error;
      }
      return task.taskId;
    },
    async kill(taskId) {
      await fw.call({ call: { $case: 'kill', kill: { taskId, agentId: '' } } });
      return until(taskId, [TaskState.TASK_KILLED, TaskState.TASK_FAILED]);
    },
    async sandboxOf(taskId) {
      const dir = join(workDir, 'sandboxes', frameworkId);
      const name = (await readdir(dir)).find((d) => d.startsWith(`${taskId}-`) && !d.includes('.'));
      return join(dir, name ?? 'missing');
    },
    async stop() {
      fw.close();
      await agent.stop();
      await master.stop();
      const left = processesWithEnv(`GALAXY_SANDBOX=${workDir}`).map((pid) => `process ${pid}`);
      killWithEnv(`GALAXY_SANDBOX=${workDir}`);
      const driver = detectCgroupDriver();
      for (const c of ['cpu', 'memory', 'pids', 'freezer'] as const)
        if (driver.exists(c, cgroupRoot)) left.push(`cgroup ${c}:${cgroupRoot}`);
      await driver.remove(cgroupRoot, ['cpu', 'cpuacct', 'memory', 'pids', 'blkio', 'freezer']);
      await rm(workDir, { recursive: true, force: true });
      await rm(shared, { recursive: true, force: true });
      return left;
    },
  };
}
