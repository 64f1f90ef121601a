/**
 * The agent: discovers its machine, registers with the master, runs the tasks it is sent and
 * reports their states until the master acknowledges them.
 */
import { mkdir } from 'node:fs/promises';
import type { FrameworkInfo, ResourceUsage, TaskInfo, TaskStatus, TaskUsage } from '../proto/gen/galaxy/v1/common.js';
import { StatusSource, TaskState } from '../proto/gen/galaxy/v1/common.js';
import type { MasterMessage, RegisterAgent } from '../proto/gen/galaxy/v1/agent.js';
import { createLogger, type Logger } from '../core/logger.js';
import { GalaxyError } from '../core/errors.js';
import { StatusUpdateStream } from '../core/status-update-stream.js';
import { isTerminal, stateName } from '../core/task-state.js';
import { discoverMachine, type MachineInfo } from './discovery.js';
import { createAgentHooks, type AgentHooks, type AgentPlugin } from './hooks.js';
import type { Launcher } from './launcher.js';
import type { ContainerUsage } from '../isolators/isolator.js';
import { MasterLink } from './master-link.js';
import { Checkpointer, type TaskCheckpoint } from './checkpoint.js';
import { SandboxGc } from './sandbox-gc.js';
import { createLauncher } from './containerizer/index.js';
import { ProcessLauncher } from './process-launcher.js';
import { TaskRunner } from './task-runner.js';

/** How to start an agent. */
export interface AgentOptions {
  /** The master, `host:port`. */
  readonly master: string;
  /** Sandboxes and checkpoints live here. */
  readonly workDir: string;
  /** Resource overrides, e.g. `cpus:2;mem:4GiB`. */
  readonly resources?: string;
  /** Labels, e.g. `rack:r1;zone:z1`. */
  readonly attributes?: string;
  readonly pool?: string;
  readonly hostname?: string;
  readonly logLevel?: string;
  readonly plugins?: readonly AgentPlugin[];
  readonly launcher?: Launcher;
  /** Isolators for Linux containers, e.g. `cpu,memory,pids`; unset = plain processes. */
  readonly isolation?: string;
  /** This agent's own cgroup root (default derived from the work dir). */
  readonly cgroupRoot?: string;
  /** How long a finished task's sandbox is kept before it is deleted (default one hour). */
  readonly sandboxGcDelayMs?: number;
  /** Status update retry: first delay and ceiling (ms). */
  readonly statusRetry?: { readonly initialMs: number; readonly maxMs: number };
}

/** Isolator usage in the wire form (missing figures are 0). */
function toResourceUsage(u: ContainerUsage): ResourceUsage {
  return {
    cpuSeconds: u.cpuSeconds ?? 0,
    cpuThrottledSeconds: u.cpuThrottledSeconds ?? 0,
    memBytes: u.memBytes ?? 0,
    memMaxBytes: u.memMaxBytes ?? 0,
    pids: u.pids ?? 0,
    pidsLimitHits: u.pidsLimitHits ?? 0,
    diskBytes: u.diskBytes ?? 0,
    diskReadBytes: u.diskReadBytes ?? 0,
    diskWriteBytes: u.diskWriteBytes ?? 0,
    netTxBytes: u.netTxBytes ?? 0,
    netRxBytes: u.netRxBytes ?? 0,
  };
}

function runnerKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}

/** A running agent. */
export class Agent {
  /** The agent's extension points. */
  readonly hooks: AgentHooks = createAgentHooks();
  /** Tasks by `frameworkId/taskId`, until their terminal update is acknowledged. */
  readonly tasks = new Map<string, TaskRunner>();
  private id = '';
  private readonly updates: StatusUpdateStream;
  private readonly link: MasterLink;
  private readonly launcher: Launcher;
  private readonly checkpoints: Checkpointer;
  private readonly gc: SandboxGc;

  constructor(
    private readonly options: AgentOptions,
    readonly machine: MachineInfo,
    readonly log: Logger,
    launcher: Launcher = new ProcessLauncher(),
  ) {
    this.launcher = options.launcher ?? launcher;
    this.checkpoints = new Checkpointer(options.workDir);
    this.gc = new SandboxGc(options.workDir, options.sandboxGcDelayMs ?? 3_600_000, log);
    this.updates = new StatusUpdateStream({
      send: (status) => this.link.send({ message: { $case: 'statusUpdate', statusUpdate: { status } } }),
      initialRetryMs: options.statusRetry?.initialMs ?? 1000,
      maxRetryMs: options.statusRetry?.maxMs ?? 10_000,
    });
    this.link = new MasterLink(
      options.master,
      {
        registration: () => this.registration(),
        message: (m) => {
          this.handle(m);
        },
      },
      log,
    );
    for (const plugin of options.plugins ?? []) plugin.apply(this);
  }

  /** The id the master gave this agent ('' before the first registration). */
  get agentId(): string {
    return this.id;
  }

  /** True when tasks run in Linux containers rather than as plain processes. */
  get containerized(): boolean {
    return this.launcher.name === 'linux';
  }

  /** True while registered with the master. */
  get connected(): boolean {
    return this.link.connected;
  }

  /**
   * Re-attaches to the containers this work dir's checkpoints name (after a restart, even after
   * `kill -9`), then removes the containers nobody checkpointed. Call before {@link Agent.start}.
   */
  async recover(): Promise<number> {
    await this.gc.start();
    this.id = await this.checkpoints.agentId();
    let recovered = 0;
    if (this.launcher.recover) {
      for (const checkpoint of await this.checkpoints.tasks()) {
        const runner = this.runner(checkpoint.framework, checkpoint.info, checkpoint);
        this.tasks.set(runnerKey(checkpoint.framework.id, checkpoint.info.taskId), runner);
        // Attach before the orphan sweep below, or the sweep would take the container for an orphan.
        await runner.resume(this.launcher, checkpoint.pid).catch((error: unknown) => {
          this.log.error({ task: checkpoint.info.taskId, err: String(error) }, 'could not re-attach');
        });
        recovered += 1;
      }
    }
    const orphans = (await this.launcher.removeOrphans?.()) ?? [];
    if (recovered > 0 || orphans.length > 0)
      this.log.info({ recovered, orphans }, 'recovered containers; removed orphans');
    return recovered;
  }

  /** Connects to the master. */
  start(): void {
    this.link.start();
  }

  /** Usage statistics of a task's container (empty for plain processes). */
  async usage(frameworkId: string, taskId: string): Promise<ContainerUsage> {
    const runner = this.tasks.get(runnerKey(frameworkId, taskId));
    if (!runner)
      throw new GalaxyError('GALAXY_E_TASK_UNKNOWN', `no task ${taskId} of framework ${frameworkId} on this agent`);
    return (await this.launcher.usage?.(runner.containerId)) ?? {};
  }

  /** Kills every task (with its grace) and disconnects. */
  async stop(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((runner) => runner.kill()));
    // A clean stop leaves nothing to recover.
    await Promise.all([...this.tasks.values()].map((r) => this.checkpoints.removeTask(r.framework.id, r.info.taskId)));
    await this.launcher.close?.();
    this.gc.stop();
    this.updates.stop();
    this.link.stop();
  }

  private registration(): RegisterAgent {
    const frameworks = new Map<string, FrameworkInfo>();
    for (const runner of this.tasks.values()) frameworks.set(runner.framework.id, runner.framework);
    return {
      agentInfo: {
        id: this.id,
        hostname: this.machine.hostname,
        total: this.machine.total,
        attributes: this.machine.attributes,
        pool: this.machine.pool,
        address: '',
      },
      tasks: [...this.tasks.values()].map((runner) => runner.toTask()),
      frameworks: [...frameworks.values()],
      version: '0.1.0',
    };
  }

  private handle(message: MasterMessage): void {
    const body = message.message;
    switch (body?.$case) {
      case 'registered':
        this.id = body.registered.agentId;
        this.log.info({ agent: this.id, master: body.registered.masterId }, 'registered with the master');
        this.hooks.registered.call(this.id);
        void this.checkpoints.saveAgentId(this.id);
        this.updates.flush();
        return;
      case 'ping':
        this.link.send({ message: { $case: 'pong', pong: { seq: body.ping.seq } } });
        return;
      case 'runTask':
        if (body.runTask.framework && body.runTask.task) this.run(body.runTask.framework, body.runTask.task);
        return;
      case 'killTask':
        this.kill(body.killTask.frameworkId, body.killTask.taskId);
        return;
      case 'ack':
        this.acknowledge(body.ack.frameworkId, body.ack.taskId, body.ack.uuid);
        return;
      case 'shutdownFramework':
        for (const runner of this.tasks.values())
          if (runner.framework.id === body.shutdownFramework.frameworkId) void runner.kill();
        return;
      case 'frameworkMessage':
        this.hooks.frameworkMessage.call(body.frameworkMessage);
        return;
      case 'usageRequest':
        void this.reportUsage(body.usageRequest.requestId);
        return;
      case 'error':
      case undefined:
        return;
    }
  }

  /** Answers the master's usage request with what the isolators measure of every live task. */
  private async reportUsage(requestId: number): Promise<void> {
    const tasks: TaskUsage[] = [];
    for (const runner of this.tasks.values()) {
      if (isTerminal(runner.state)) continue;
      const usage = await this.launcher.usage?.(runner.containerId).catch(() => undefined);
      tasks.push({
        frameworkId: runner.framework.id,
        taskId: runner.info.taskId,
        agentId: this.id,
        usage: toResourceUsage(usage ?? {}),
      });
    }
    this.link.send({ message: { $case: 'usage', usage: { requestId, tasks } } });
  }

  private run(framework: FrameworkInfo, task: TaskInfo): void {
    const key = runnerKey(framework.id, task.taskId);
    const existing = this.tasks.get(key);
    if (existing && !isTerminal(existing.state)) {
      this.emit(
        this.refusal(framework, task, `task ${task.taskId} is already ${stateName(existing.state)} on this agent`),
      );
      return;
    }
    const runner = this.runner(framework, task);
    this.tasks.set(key, runner);
    void runner.start();
  }

  private runner(framework: FrameworkInfo, task: TaskInfo, recovered?: TaskCheckpoint): TaskRunner {
    const runner: TaskRunner = new TaskRunner(
      framework,
      task,
      {
        agentId: () => this.id,
        workDir: this.options.workDir,
        launcher: this.launcher,
        hooks: this.hooks,
        log: this.log,
        emit: (status) => {
          this.emit(status);
          // Once it runs, the task is worth re-attaching to after a restart.
          if (status.state === TaskState.TASK_RUNNING && runner.pid !== undefined) {
            void this.checkpoints.saveTask({
              framework,
              info: task,
              containerId: runner.containerId,
              sandbox: runner.sandbox,
              pid: runner.pid,
              state: status.state,
            });
          }
        },
      },
      recovered,
    );
    return runner;
  }

  private kill(frameworkId: string, taskId: string): void {
    const runner = this.tasks.get(runnerKey(frameworkId, taskId));
    if (runner) {
      void runner.kill();
      return;
    }
    // The master thinks it runs here, but it does not: say so, so the master can settle it.
    this.emit({
      taskId,
      frameworkId,
      agentId: this.id,
      state: TaskState.TASK_LOST,
      reason: 'task-unknown-to-agent',
      message: 'the agent does not know this task',
      source: StatusSource.SOURCE_AGENT,
      timestamp: Date.now() / 1000,
      uuid: '',
    });
  }

  private acknowledge(frameworkId: string, taskId: string, uuid: string): void {
    if (!this.updates.acknowledge(frameworkId, taskId, uuid)) return;
    const key = runnerKey(frameworkId, taskId);
    const runner = this.tasks.get(key);
    if (runner && isTerminal(runner.state) && !this.updates.latest(frameworkId, taskId)) {
      this.tasks.delete(key);
      void this.checkpoints.removeTask(frameworkId, taskId);
      this.gc.schedule(runner.sandbox);
    }
  }

  private emit(status: TaskStatus): void {
    this.hooks.statusUpdate.call(status);
    this.updates.enqueue(status);
  }

  private refusal(framework: FrameworkInfo, task: TaskInfo, message: string): TaskStatus {
    return {
      taskId: task.taskId,
      frameworkId: framework.id,
      agentId: this.id,
      state: TaskState.TASK_ERROR,
      reason: 'duplicate-task',
      message,
      source: StatusSource.SOURCE_AGENT,
      timestamp: Date.now() / 1000,
      uuid: '',
    };
  }
}

/** Discovers the machine, creates the agent and connects it to the master. */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  const log = createLogger('agent', options.logLevel);
  await mkdir(options.workDir, { recursive: true });
  const machine = await discoverMachine(options);
  const launcher =
    options.launcher ??
    (await createLauncher({
      workDir: options.workDir,
      isolation: options.isolation,
      cgroupRoot: options.cgroupRoot,
      log,
    }));
  const agent = new Agent(options, machine, log, launcher);
  await agent.recover();
  agent.start();
  return agent;
}
