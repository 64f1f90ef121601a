/**
 * The agent's tasks, from RunTask to the acknowledgement of their end: which run here, starting
 * them (or answering TASK_ERROR), killing them, sending their status updates until acknowledged,
 * and what an acknowledged end releases (the runner, the checkpoint, the sandbox after its delay).
 */
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import type { RunTask } from '../proto/gen/galaxy/v1/agent.js';
import { isGalaxyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { StatusUpdateStream } from '../core/status-update-stream.js';
import { isTerminal, stateName } from '../core/task-state.js';
import { callHook, type AgentHooks } from './hooks.js';
import type { Launcher } from './launcher.js';
import type { TaskCheckpoint } from './checkpoint.js';
import type { CheckpointWriter } from './checkpoint-writer.js';
import type { SandboxGc } from './sandbox-gc.js';
import { TaskRunner } from './task-runner.js';
import { traceLaunch } from './launch-trace.js';
import { agentStatus } from './status.js';
import { validateRunTask } from './task-validation.js';

/** What the task book needs of its agent. */
export interface TaskBookDeps {
  readonly agentId: () => string;
  readonly workDir: string;
  readonly launcher: Launcher;
  readonly hooks: AgentHooks;
  readonly log: Logger;
  readonly updates: StatusUpdateStream;
  readonly checkpoints: CheckpointWriter;
  readonly gc: SandboxGc;
}

function runnerKey(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}

/** The tasks of one agent. */
export class TaskBook {
  /** Tasks by `frameworkId/taskId`, until their terminal update is acknowledged. */
  readonly tasks = new Map<string, TaskRunner>();

  constructor(private readonly deps: TaskBookDeps) {}

  /** The runner of a task, if it is here. */
  get(frameworkId: string, taskId: string): TaskRunner | undefined {
    return this.tasks.get(runnerKey(frameworkId, taskId));
  }

  /** Re-attaches to a checkpointed task's container after a restart. */
  async resume(checkpoint: TaskCheckpoint): Promise<void> {
    const runner = this.runner(checkpoint.framework, checkpoint.info, checkpoint);
    this.tasks.set(runnerKey(checkpoint.framework.id, checkpoint.info.taskId), runner);
    this.deps.checkpoints.adopt(checkpoint.framework.id, checkpoint.info.taskId);
    await runner.resume(this.deps.launcher, checkpoint.pid);
  }

  /** Starts a task, or answers with TASK_ERROR when the RunTask is malformed or a duplicate. */
  run(request: RunTask): void {
    let framework: FrameworkInfo;
    let task: TaskInfo;
    try {
      ({ framework, task } = validateRunTask(request));
    } catch (error) {
      const message = isGalaxyError(error) ? error.message : String(error);
      const taskId = request.task?.taskId ?? '';
      // Without a task id there is nobody to report to; the master's own validation should never let this through.
      if (taskId === '') this.deps.log.warn({ err: message }, 'ignored a RunTask without a task id');
      else this.refuse(request.framework?.id ?? '', taskId, 'invalid-task', message);
      return;
    }
    const key = runnerKey(framework.id, task.taskId);
    const existing = this.tasks.get(key);
    if (existing && !isTerminal(existing.state)) {
      const message = `GALAXY_E_TASK_DUPLICATE: task ${task.taskId} is already ${stateName(existing.state)} on this agent`;
      this.refuse(framework.id, task.taskId, 'duplicate-task', message);
      return;
    }
    const runner = this.runner(framework, task);
    this.tasks.set(key, runner);
    void runner.start();
  }

  /** Kills a task; one the master thinks runs here but does not is reported TASK_LOST. */
  kill(frameworkId: string, taskId: string): void {
    const runner = this.get(frameworkId, taskId);
    if (runner) {
      void runner.kill();
      return;
    }
    // The master thinks it runs here, but it does not: say so, so the master can settle it.
    this.emit(
      agentStatus({
        taskId,
        frameworkId,
        agentId: this.deps.agentId(),
        state: TaskState.TASK_LOST,
        reason: 'task-unknown-to-agent',
        message: 'the agent does not know this task',
      }),
    );
  }

  /** Kills every task of a framework (it was shut down). */
  killFramework(frameworkId: string): void {
    for (const runner of this.tasks.values()) if (runner.framework.id === frameworkId) void runner.kill();
  }

  /** Kills every task, each with its grace; resolves once all ended. */
  async killAll(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((runner) => runner.kill()));
  }

  /** True while some task's update is not acknowledged. */
  unacknowledged(): boolean {
    return [...this.tasks.values()].some((r) => this.deps.updates.latest(r.framework.id, r.info.taskId));
  }

  /** Removes every task's checkpoint (a clean stop leaves nothing to recover). */
  async forgetAll(): Promise<void> {
    await this.deps.checkpoints.settled();
    await Promise.all([...this.tasks.values()].map((r) => this.deps.checkpoints.remove(r.framework.id, r.info.taskId)));
  }

  /** Handles the master's acknowledgement of an update; an acknowledged end releases the task. */
  acknowledge(frameworkId: string, taskId: string, uuid: string): void {
    if (!this.deps.updates.acknowledge(frameworkId, taskId, uuid)) return;
    traceLaunch(taskId, 'update acknowledged');
    const key = runnerKey(frameworkId, taskId);
    const runner = this.tasks.get(key);
    if (runner && isTerminal(runner.state) && !this.deps.updates.latest(frameworkId, taskId)) {
      traceLaunch(taskId, 'end acknowledged');
      this.tasks.delete(key);
      void this.deps.checkpoints.remove(frameworkId, taskId).catch((error: unknown) => {
        this.deps.log.warn({ task: taskId, err: String(error) }, 'could not remove a checkpoint');
      });
      this.deps.gc.schedule(runner.sandbox);
    }
  }

  private runner(framework: FrameworkInfo, task: TaskInfo, recovered?: TaskCheckpoint): TaskRunner {
    const { deps } = this;
    const runner: TaskRunner = new TaskRunner(
      framework,
      task,
      {
        agentId: deps.agentId,
        workDir: deps.workDir,
        launcher: deps.launcher,
        hooks: deps.hooks,
        log: deps.log,
        emit: (status) => {
          this.emit(status);
          // Once it runs, the task is worth re-attaching to after a restart (if it still runs by
          // the write's turn: see ./checkpoint-writer.ts).
          if (status.state === TaskState.TASK_RUNNING && runner.pid !== undefined) {
            deps.checkpoints.save(
              {
                framework,
                info: task,
                containerId: runner.containerId,
                sandbox: runner.sandbox,
                pid: runner.pid,
                state: status.state,
              },
              () => !isTerminal(runner.state),
            );
          }
        },
      },
      recovered,
    );
    return runner;
  }

  private emit(status: TaskStatus): void {
    callHook(this.deps.log, 'statusUpdate', () => {
      this.deps.hooks.statusUpdate.call(status);
    });
    this.deps.updates.enqueue(status);
  }

  /** Answers a RunTask it will not run with a TASK_ERROR (delivered like any other update). */
  private refuse(frameworkId: string, taskId: string, reason: string, message: string): void {
    this.emit(
      agentStatus({ taskId, frameworkId, agentId: this.deps.agentId(), state: TaskState.TASK_ERROR, reason, message }),
    );
  }
}
