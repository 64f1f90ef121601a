/**
 * One task on the agent, from RunTask to its terminal state: STARTING → RUNNING → FINISHED,
 * FAILED or KILLED (or FAILED/ERROR when it cannot start).
 */
import { scopeDiskVolumes } from './disks/scoped-volumes.js';
import { join } from 'node:path';
import type { FrameworkInfo, Task, TaskInfo, TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { Limits, TaskState } from '../proto/gen/galaxy/v1/common.js';
import { isGalaxyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { isTerminal } from '../core/task-state.js';
import { emptyResources } from '../core/resources.js';
import { callHook, type AgentHooks, type LaunchContext } from './hooks.js';
import type { ExitInfo, LaunchedProcess, Launcher } from './launcher.js';
import { createSandbox, newRunId } from './sandbox.js';
import { resolveUser } from './process-launcher.js';
import { killGraceMs } from './task-validation.js';
import { agentStatus } from './status.js';
import { traceLaunch } from './launch-trace.js';
import { chown } from 'node:fs/promises';

/** What a runner needs from its agent. */
export interface RunnerDeps {
  readonly agentId: () => string;
  readonly workDir: string;
  readonly launcher: Launcher;
  readonly hooks: AgentHooks;
  readonly log: Logger;
  /** Sends a status update (reliably). */
  readonly emit: (status: TaskStatus) => void;
}

/**
 * Runs one task. The RunTask must have passed `validateRunTask`; everything that can still go
 * wrong (a missing binary, an unknown user, a refusing isolator) becomes a status update.
 */
export class TaskRunner {
  state: TaskState = TaskState.TASK_STAGING;
  sandbox = '';
  /** Names the task's container (its cgroups), unique on the agent. */
  readonly containerId: string;
  private readonly runId = newRunId();
  private process: LaunchedProcess | undefined;
  private killRequested = false;
  /** Why it is killed when not at the framework's request (an eviction): the end's reason and message. */
  private killReason: { readonly reason: string; readonly message: string } | undefined;
  /** True from `start()` until the process runs or the launch failed. */
  private launching = false;
  /** Resolves once a terminal state is reported, so a kill can wait for the task to be gone. */
  private readonly settled: Promise<void>;
  private settle: () => void = () => undefined;

  constructor(
    readonly framework: FrameworkInfo,
    readonly info: TaskInfo,
    private readonly deps: RunnerDeps,
    recovered?: { readonly containerId: string; readonly sandbox: string; readonly state: TaskState },
  ) {
    this.settled = new Promise((resolve) => {
      this.settle = resolve;
    });
    this.containerId = recovered?.containerId ?? `${framework.id}.${info.taskId}.${this.runId}`;
    if (recovered) {
      this.sandbox = recovered.sandbox;
      this.state = recovered.state;
    }
  }

  /** Pid of the task's leader on the host, once started. */
  get pid(): number | undefined {
    return this.process?.pid;
  }

  /**
   * Re-attaches to the task's container after an agent restart; resolves once attached. Its end
   * is reported later — at once, with the exit status its init recorded, if it ended while the
   * agent was down.
   */
  async resume(launcher: Launcher, pid: number): Promise<void> {
    if (!launcher.recover) return;
    this.process = await launcher.recover({
      containerId: this.containerId,
      sandbox: this.sandbox,
      resources: this.info.resources ?? emptyResources(),
      limits: this.info.limits ?? Limits.create(),
      volumes: scopeDiskVolumes(this.info.volumes, this.framework.id),
      pid,
    });
    void this.process.exited.then((exit) => {
      this.finish(exit);
    });
  }

  /** The task as the agent reports it when it (re-)registers. */
  toTask(): Task {
    return {
      taskId: this.info.taskId,
      name: this.info.name,
      frameworkId: this.framework.id,
      agentId: this.deps.agentId(),
      resources: this.info.resources,
      state: this.state,
      labels: this.info.labels,
      role: this.framework.role,
      band: this.info.band,
      revocable: this.info.revocable,
      ...(this.info.onRevocable === true ? { onRevocable: true } : {}),
    };
  }

  /** Starts the task; never throws — failures become status updates. */
  async start(): Promise<void> {
    this.launching = true;
    try {
      await this.launch();
    } finally {
      this.launching = false;
    }
    if (!this.process || isTerminal(this.state)) return;
    // A KILL may have arrived while the process was starting.
    if (this.killRequested) void this.kill();
  }

  private async launch(): Promise<void> {
    this.update(TaskState.TASK_STARTING, '', 'task is starting');
    let context: LaunchContext | undefined;
    try {
      const command = this.info.command ?? { shell: '', argv: [], env: {}, user: '' };
      this.sandbox = await createSandbox(this.deps.workDir, this.framework.id, this.info.taskId, this.runId);
      if (command.user !== '') {
        // The task owns its sandbox, as in Mesos.
        const { uid, gid } = resolveUser(command.user);
        await chown(this.sandbox, uid, gid);
      }
      context = { framework: this.framework, task: this.info, sandbox: this.sandbox, env: this.environment() };
      await this.deps.hooks.beforeLaunch.promise(context);
      if (this.killRequested) {
        this.update(TaskState.TASK_KILLED, 'killed-before-launch', 'killed before it started');
        return;
      }
      this.process = await this.deps.launcher.launch({
        containerId: this.containerId,
        command,
        resources: this.info.resources ?? emptyResources(),
        limits: this.info.limits ?? Limits.create(),
        volumes: scopeDiskVolumes(this.info.volumes, this.framework.id),
        container: this.info.container,
        sandbox: this.sandbox,
        env: context.env,
        stdoutPath: join(this.sandbox, 'stdout'),
        stderrPath: join(this.sandbox, 'stderr'),
      });
    } catch (error) {
      // The task's own fault (a malformed field, a host path this agent does not allow): TASK_ERROR.
      const invalid =
        isGalaxyError(error, 'GALAXY_E_TASK_INVALID') || isGalaxyError(error, 'GALAXY_E_HOST_PATH_DENIED');
      const message = error instanceof Error ? error.message : String(error);
      this.update(invalid ? TaskState.TASK_ERROR : TaskState.TASK_FAILED, 'launch-failed', message);
      return;
    }
    const launchContext = context;
    callHook(this.deps.log, 'launched', () => {
      this.deps.hooks.launched.call(launchContext, this.process?.pid ?? -1);
    });
    this.update(TaskState.TASK_RUNNING, '', `pid ${this.process.pid}`);
    // Watched, not awaited: `start()` returns once the task runs.
    void this.process.exited.then(async (exit) => {
      await this.deps.hooks.taskExited.promise(launchContext, exit).catch((error: unknown) => {
        this.deps.log.warn({ task: this.info.taskId, err: String(error) }, 'a taskExited hook failed');
      });
      this.finish(exit);
    });
  }

  /**
   * Kills the task: SIGTERM, then SIGKILL after its grace period. Resolves once its terminal
   * state is reported (at once when it is not running and not starting). `why` names the reason
   * its TASK_KILLED carries when the agent itself kills it (the QoS controller's eviction).
   */
  async kill(why?: { readonly reason: string; readonly message: string }): Promise<void> {
    this.killRequested = true;
    this.killReason ??= why;
    if (isTerminal(this.state)) return;
    if (this.process) {
      if (this.state !== TaskState.TASK_KILLING) this.update(TaskState.TASK_KILLING, 'killed', 'kill requested');
      await this.process.kill(killGraceMs(this.info));
    } else if (!this.launching) {
      return;
    }
    await this.settled;
  }

  private finish(exit: ExitInfo): void {
    const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code ?? '?'}`;
    if (exit.limitation) {
      this.update(TaskState.TASK_FAILED, exit.limitation.reason, exit.limitation.message, exit.code ?? undefined);
    } else if (this.killRequested) {
      const why = this.killReason;
      this.update(
        TaskState.TASK_KILLED,
        why?.reason ?? 'killed',
        why ? `${why.message} (${how})` : `killed (${how})`,
        exit.code ?? undefined,
      );
    } else if (exit.code === null && exit.signal === null) {
      this.update(
        TaskState.TASK_FAILED,
        'exit-status-unknown',
        'the task ended while the agent was down and left no exit status',
      );
    } else if (exit.code === 0) {
      this.update(TaskState.TASK_FINISHED, '', 'exited with code 0', 0);
    } else {
      this.update(
        TaskState.TASK_FAILED,
        exit.signal ? 'signaled' : 'non-zero-exit',
        `process ended with ${how}`,
        exit.code ?? undefined,
      );
    }
  }

  private environment(): Record<string, string> {
    const ports = this.info.resources?.ports ?? [];
    const list: number[] = [];
    for (const range of ports)
      for (let port = range.begin; port <= range.end && list.length < 1024; port++) list.push(port);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: this.sandbox,
      ...this.info.command?.env,
      GALAXY_TASK_ID: this.info.taskId,
      GALAXY_FRAMEWORK_ID: this.framework.id,
      GALAXY_AGENT_ID: this.deps.agentId(),
      GALAXY_SANDBOX: this.sandbox,
      GALAXY_PORTS: list.join(','),
    };
    list.forEach((port, i) => {
      env[`PORT${i}`] = String(port);
    });
    return env;
  }

  private update(state: TaskState, reason: string, message: string, exitCode?: number): void {
    traceLaunch(this.info.taskId, TaskState[state]);
    this.state = state;
    if (isTerminal(state)) this.settle();
    this.deps.emit(
      agentStatus({
        taskId: this.info.taskId,
        frameworkId: this.framework.id,
        agentId: this.deps.agentId(),
        state,
        reason,
        message,
        exitCode,
      }),
    );
  }
}
