/**
 * One simulated agent: the real agent protocol (agent/master-link.ts, agent/registration.ts, the
 * status update stream of core/) over a shared gRPC channel, with no process, sandbox or
 * checkpoint behind its tasks. A task plays out as its command says (./task-plan.ts), at the
 * simulation's speed-up; it is reported STARTING and RUNNING at once and then FINISHED or FAILED
 * when its time is up, or KILLED when the master says so. Its updates are resent until
 * acknowledged, and it re-registers with its tasks after a failover, as a real agent does.
 */
import type { MasterMessage, RegisterAgent, RunTask } from '../proto/gen/galaxy/v1/agent.js';
import {
  TaskState,
  type FrameworkInfo,
  type Task,
  type TaskInfo,
  type TaskStatus,
} from '../proto/gen/galaxy/v1/common.js';
import { MasterLink, type MasterLinkTransport } from '../agent/master-link.js';
import { registerAgent } from '../agent/registration.js';
import { handleMasterMessage } from '../agent/master-messages.js';
import type { MachineInfo } from '../agent/discovery.js';
import { agentStatus } from '../agent/status.js';
import { validateRunTask } from '../agent/task-validation.js';
import { StatusUpdateStream } from '../core/status-update-stream.js';
import { StatusOutbox } from '../agent/status-outbox.js';
import type { GalaxyError } from '../core/errors.js';
import { isTerminal, stateName } from '../core/task-state.js';
import type { Logger } from '../core/logger.js';
import { planTask } from './task-plan.js';
import { RESOURCES_REVOKED_REASON } from '../core/revocable.js';
import { SimReclaim, type SimReclaimOptions } from './sim-reclaim.js';

/** What a simulated agent tells the fleet that hosts it. */
export interface SimAgentEvents {
  /** (Re-)registered as `agentId`. */
  registered?(agent: SimAgent): void;
  /** A task changed state on this agent from `before` (`at`: `Date.now()`). */
  taskState?(agent: SimAgent, task: TaskInfo, state: TaskState, at: number, before: TaskState): void;
  /** The task's RUNNING update (and every update before it) was acknowledged by its framework, at `at` (ms). */
  runningAcknowledged?(agent: SimAgent, task: TaskInfo, at: number): void;
  /** A task on revocable resources was evicted by the agent's QoS (`--oversubscribe`), at `at` (ms). */
  evicted?(agent: SimAgent, task: TaskInfo, at: number): void;
  /** The master refused this agent's identity; it has stopped. */
  refused?(agent: SimAgent, error: GalaxyError): void;
}

/** How a simulated agent runs. */
export interface SimAgentOptions {
  /** The master: `host:port` or a coordinator URL (followed through failovers). */
  readonly master: string;
  /** A join token (exchanged for the agent's credential at its first registration), the agent's credential, or an admin's token. */
  readonly token?: string;
  /** The id `token` is the credential of; unset: the master gives one at the first registration. */
  readonly agentId?: string;
  readonly machine: MachineInfo;
  /** Shared channels to the master. */
  readonly transport: MasterLinkTransport;
  /** Trace seconds per wall second: a `sleep 60` task runs 6 s at 10. */
  readonly speedup: number;
  readonly log: Logger;
  readonly events?: SimAgentEvents;
  /** First and largest delay between resends of an unacknowledged update (ms). */
  readonly statusRetry?: { readonly initialMs: number; readonly maxMs: number };
  /** Oversubscribe (./sim-reclaim.ts): report revocable estimates from the usage model and evict; the fleet calls {@link SimAgent.reclaimSample}. */
  readonly reclaim?: SimReclaimOptions;
}

/** A task the simulated agent holds until its terminal update is acknowledged. */
class SimTask {
  state: TaskState = TaskState.TASK_STAGING;
  timer?: NodeJS.Timeout;
  /** Its RUNNING update was acknowledged (told once). */
  runningAcknowledged = false;
  /** Wall ms it was started (the QoS evicts the newest first). */
  readonly startedAt = Date.now();

  constructor(
    readonly framework: FrameworkInfo,
    readonly info: TaskInfo,
    private readonly agentId: () => string,
  ) {}

  /** The task as a (re-)registration lists it. */
  toTask(): Task {
    return {
      taskId: this.info.taskId,
      name: this.info.name,
      frameworkId: this.framework.id,
      agentId: this.agentId(),
      resources: this.info.resources,
      state: this.state,
      labels: this.info.labels,
      role: this.framework.role,
      band: this.info.band,
      revocable: this.info.revocable,
      onRevocable: this.info.onRevocable,
    };
  }
}

function keyOf(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}

/** A simulated agent. */
export class SimAgent {
  private id = '';
  private readonly tasks = new Map<string, SimTask>();
  private readonly updates: StatusUpdateStream;
  private readonly outbox: StatusOutbox;
  private readonly link: MasterLink;
  private readonly reclaim?: SimReclaim;

  constructor(private readonly options: SimAgentOptions) {
    this.id = options.agentId ?? '';
    if (options.reclaim)
      this.reclaim = new SimReclaim(
        {
          hostname: options.machine.hostname,
          report: (estimate) => {
            const resources = { cpus: estimate.cpus, mem: estimate.mem, disk: 0, gpus: 0, ports: [] };
            this.link.send({ message: { $case: 'revocableEstimate', revocableEstimate: { resources } } });
          },
          evict: (key, message) => {
            this.evict(key, message);
          },
        },
        options.reclaim,
      );
    // The agent's own outbox: the updates of one turn leave as one message (one each was a write
    // per update, hundreds at once when an ACCEPT starts hundreds of tasks here).
    this.outbox = new StatusOutbox({
      write: (message, written) => this.link.send(message, written),
      connected: () => this.link.connected,
    });
    this.updates = new StatusUpdateStream({
      send: (status) => this.outbox.send(status),
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
        refused: (error) => {
          options.events?.refused?.(this, error);
        },
      },
      options.log,
      options.token,
      undefined,
      options.transport,
    );
  }

  /** The id the master gave this agent ('' before the first registration). */
  get agentId(): string {
    return this.id;
  }

  get hostname(): string {
    return this.options.machine.hostname;
  }

  /** True while registered on a live stream. */
  get connected(): boolean {
    return this.link.connected;
  }

  /** Tasks held (running, or ended with the end not yet acknowledged). */
  get taskCount(): number {
    return this.tasks.size;
  }

  /** One oversubscription sample at trace second `traceS` (with `reclaim` only; a no-op while unregistered). */
  reclaimSample(traceS: number): void {
    if (!this.reclaim || !this.link.connected) return;
    const live = [...this.tasks.entries()]
      .filter(([, t]) => t.state === TaskState.TASK_RUNNING)
      .map(([key, t]) => ({
        key,
        cpus: t.info.resources?.cpus ?? 0,
        mem: t.info.resources?.mem ?? 0,
        band: t.info.band,
        onRevocable: t.info.onRevocable === true,
        startedAt: t.startedAt,
      }));
    this.reclaim.sample(live, traceS);
  }

  /** Connects to the master. */
  start(): void {
    this.link.start();
  }

  /** Disconnects without ending its tasks (as `kill -9` of an agent would leave them). */
  stop(): void {
    for (const task of this.tasks.values()) clearTimeout(task.timer);
    this.updates.stop();
    this.link.stop();
  }

  private registration(): RegisterAgent {
    return registerAgent(this.id, this.options.machine, this.tasks.values());
  }

  private handle(message: MasterMessage): void {
    handleMasterMessage(this.link, message, {
      registered: (agentId, credential) => {
        this.id = agentId;
        if (credential !== '') this.link.useToken(credential);
        this.reclaim?.registered();
        this.options.events?.registered?.(this);
        // A new stream: what was queued for the old one is resent, in order, by the flush.
        this.outbox.reset();
        this.updates.flush();
      },
      runTask: (request) => {
        this.run(request);
      },
      killTask: (frameworkId, taskId) => {
        this.kill(frameworkId, taskId);
      },
      acknowledge: (frameworkId, taskId, uuid) => {
        this.acknowledge(frameworkId, taskId, uuid);
      },
      shutdownFramework: (frameworkId) => {
        for (const task of this.tasks.values())
          if (task.framework.id === frameworkId) this.kill(task.framework.id, task.info.taskId);
      },
      // Simulated tasks use nothing measurable: an empty report answers the request.
      usageRequest: (requestId) => {
        this.link.send({ message: { $case: 'usage', usage: { requestId, tasks: [] } } });
      },
    });
  }

  private run(request: RunTask): void {
    let framework: FrameworkInfo;
    let info: TaskInfo;
    try {
      ({ framework, task: info } = validateRunTask(request));
    } catch (error) {
      const taskId = request.task?.taskId ?? '';
      if (taskId !== '')
        this.emit(request.framework?.id ?? '', taskId, TaskState.TASK_ERROR, 'invalid-task', String(error));
      return;
    }
    const key = keyOf(framework.id, info.taskId);
    const existing = this.tasks.get(key);
    if (existing && !isTerminal(existing.state)) {
      const message = `GALAXY_E_TASK_DUPLICATE: task ${info.taskId} is already ${stateName(existing.state)} on this agent`;
      this.emit(framework.id, info.taskId, TaskState.TASK_ERROR, 'duplicate-task', message);
      return;
    }
    const task = new SimTask(framework, info, () => this.id);
    this.tasks.set(key, task);
    const plan = planTask(info.command);
    if (plan.kind === 'unsupported') {
      this.transition(task, TaskState.TASK_FAILED, 'launch-failed', plan.message);
      return;
    }
    this.transition(task, TaskState.TASK_STARTING, '', 'task is starting');
    this.transition(task, TaskState.TASK_RUNNING, '', 'simulated');
    if (plan.durationS === undefined) return;
    const end = (): void => {
      if (plan.exitCode === 0) this.transition(task, TaskState.TASK_FINISHED, '', 'exited with code 0', 0);
      else
        this.transition(
          task,
          TaskState.TASK_FAILED,
          'non-zero-exit',
          `process ended with exit code ${plan.exitCode}`,
          plan.exitCode,
        );
    };
    task.timer = setTimeout(end, (plan.durationS * 1000) / this.options.speedup);
  }

  private kill(frameworkId: string, taskId: string): void {
    const task = this.tasks.get(keyOf(frameworkId, taskId));
    if (!task) {
      this.emit(frameworkId, taskId, TaskState.TASK_LOST, 'task-unknown-to-agent', 'the agent does not know this task');
      return;
    }
    if (isTerminal(task.state)) return;
    clearTimeout(task.timer);
    this.transition(task, TaskState.TASK_KILLING, 'killed', 'kill requested');
    this.transition(task, TaskState.TASK_KILLED, 'killed', 'killed (signal SIGTERM)');
  }

  /** Ends a task on revocable resources because the regular tasks need them back (reason `resources-revoked`). */
  private evict(key: string, message: string): void {
    const task = this.tasks.get(key);
    if (!task || task.state !== TaskState.TASK_RUNNING) return;
    clearTimeout(task.timer);
    this.options.events?.evicted?.(this, task.info, Date.now());
    this.transition(task, TaskState.TASK_KILLING, RESOURCES_REVOKED_REASON, message);
    this.transition(task, TaskState.TASK_KILLED, RESOURCES_REVOKED_REASON, message);
  }

  private acknowledge(frameworkId: string, taskId: string, uuid: string): void {
    if (!this.updates.acknowledge(frameworkId, taskId, uuid)) return;
    const key = keyOf(frameworkId, taskId);
    const task = this.tasks.get(key);
    const settled = !this.updates.latest(frameworkId, taskId);
    if (task && settled && task.state === TaskState.TASK_RUNNING && !task.runningAcknowledged) {
      task.runningAcknowledged = true;
      this.options.events?.runningAcknowledged?.(this, task.info, Date.now());
    }
    if (task && isTerminal(task.state) && settled) this.tasks.delete(key);
  }

  private transition(task: SimTask, state: TaskState, reason: string, message: string, exitCode?: number): void {
    const before = task.state;
    task.state = state;
    this.options.events?.taskState?.(this, task.info, state, Date.now(), before);
    this.emit(task.framework.id, task.info.taskId, state, reason, message, exitCode);
  }

  private emit(
    frameworkId: string,
    taskId: string,
    state: TaskState,
    reason: string,
    message: string,
    exitCode?: number,
  ): void {
    const status: TaskStatus = agentStatus({ taskId, frameworkId, agentId: this.id, state, reason, message, exitCode });
    this.updates.enqueue(status);
  }
}
