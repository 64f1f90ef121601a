/**
 * The master's shared state and the small operations every part of it needs: sending to a
 * framework, forwarding a status update, rescinding offers, finishing a task.
 */
import type { Allocator } from '../allocators/allocator.js';
import { IdGenerator, UnguessableIdGenerator } from '../core/ids.js';
import type { Logger } from '../core/logger.js';
import { StatusUpdateStream } from '../core/status-update-stream.js';
import { isGone, isTerminal } from '../core/task-state.js';
import { StatusSource, type Offer, type Task, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import type { Event } from '../proto/gen/galaxy/v1/scheduler.js';
import type { AllocationLoop } from './allocation-loop.js';
import type { MasterHooks } from './hooks.js';
import { OfferBook } from './offer-book.js';
import { AckOutbox } from './agents/ack-outbox.js';
import { UpdateOutbox } from './frameworks/update-outbox.js';
import { ForwardedUpdates } from './frameworks/forwarded-updates.js';
import { RoleClients } from './frameworks/role-clients.js';
import { taskKey, type AgentRecord, type FrameworkRecord, type TaskRecord } from './records.js';
import type { MasterTimings } from './timings.js';
import type { MasterLimits } from './limits.js';
import { expired, RetainedSet } from './retention.js';
import { EventLog } from './events/log.js';
import { RevocablePool } from './revocable/revocable-pool.js';
import type { RefuseFilter } from '../allocators/allocator.js';
import type { Resources } from '../core/resources.js';
import { offerWithoutHeld } from '../core/held-volumes.js';

/** How many finished tasks the master remembers for reconciliation and listing. */
const COMPLETED_LIMIT = 10_000;

/** Everything the master knows, shared by its parts. */
export class MasterContext {
  readonly masterId = new IdGenerator('master').next();
  readonly agentIds = new IdGenerator('agent');
  /** Framework and offer ids name what a caller may act on: unguessable. */
  readonly frameworkIds = new UnguessableIdGenerator('fw');
  readonly offerIds = new UnguessableIdGenerator('offer');
  readonly agents = new Map<string, AgentRecord>();
  readonly frameworks = new Map<string, FrameworkRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  /** Terminal, acknowledged tasks, oldest first. */
  readonly completed = new Map<string, Task>();
  /**
   * Frameworks torn down: they may not re-subscribe, and their tasks are killed where found.
   * Forgotten after the retention period (`MasterLimits.recordRetentionMs`).
   */
  readonly removedFrameworks: RetainedSet;
  /**
   * Tasks reported LOST or UNREACHABLE because their agent was removed: killed if the agent comes
   * back within the retention period.
   */
  readonly lostTasks: RetainedSet;
  /**
   * Agents admitted before this master led that have not re-registered yet (Mesos' transitioning
   * agents): a reconciliation of a task on one of them is not answered TASK_UNKNOWN, which would
   * make its framework launch it again beside the copy still running there, until the agent
   * comes back or its re-registration timeout reports it lost. `undefined` while the registry
   * still lists them: every unknown task waits. Empty on a master without a registry.
   */
  awaitedAgents: Set<string> | undefined = new Set();
  readonly offers: OfferBook;
  /** Status updates the master generates itself, delivered at least once to frameworks. */
  readonly masterUpdates: StatusUpdateStream;
  /** Acknowledgements to agents, batched per agent and turn. */
  readonly acks = new AckOutbox();
  /** Events to frameworks; status updates batched per framework stream and turn. */
  readonly frameworkEvents = new UpdateOutbox();
  /** Agents' updates forwarded lately: a resend of one is not forwarded again at once. */
  readonly forwardedUpdates = new ForwardedUpdates();
  /** The allocator, one client per (framework, role): what the master hands out and takes back goes through it. */
  readonly clients: RoleClients;
  /** Revocable resources: agents' estimates and what revocable offers and tasks hold (outside the allocator). */
  readonly revocable = new RevocablePool();
  /** Status updates the master resent because their framework had not acknowledged them (metrics). */
  statusUpdateRetries = 0;
  /** The cluster's event log (`galaxy events`): every state change with who and why. */
  readonly events: EventLog;

  constructor(
    readonly allocator: Allocator,
    readonly hooks: MasterHooks,
    readonly log: Logger,
    readonly timings: MasterTimings,
    readonly loop: AllocationLoop,
    readonly limits: MasterLimits,
  ) {
    this.clients = new RoleClients(allocator);
    this.events = new EventLog({ maxEvents: limits.eventsRetained, maxAgeMs: limits.eventsMaxAgeMs });
    this.removedFrameworks = new RetainedSet(limits.recordRetentionMs, limits.maxRecords);
    this.lostTasks = new RetainedSet(limits.recordRetentionMs, limits.maxRecords);
    this.offers = new OfferBook(timings.offerTimeoutMs, (offer) => {
      this.log.info({ offer: offer.id, framework: offer.frameworkId }, 'offer timed out; rescinding');
      this.rescindOffer(offer, true);
    });
    this.masterUpdates = new StatusUpdateStream({
      send: (status) => this.sendUpdate(status),
      initialRetryMs: timings.statusRetryMs,
      maxRetryMs: timings.statusRetryMs * 16,
      onRetry: (updates) => {
        this.statusUpdateRetries += updates;
      },
    });
  }

  /** Sends an event to a framework if it is connected. */
  sendEvent(frameworkId: string, event: Event): boolean {
    const connection = this.frameworks.get(frameworkId)?.connection;
    if (!connection) return false;
    this.frameworkEvents.send(connection, event);
    return true;
  }

  /** Delivers a status update to its framework (once; callers retry). */
  sendUpdate(status: TaskStatus): boolean {
    return this.sendEvent(status.frameworkId, { event: { $case: 'update', update: { status } } });
  }

  /** Takes an offer back: tells the framework (when `notify`) and gives the resources back. */
  rescindOffer(offer: Offer, notify: boolean): void {
    this.offers.remove(offer.id);
    if (notify) this.sendEvent(offer.frameworkId, { event: { $case: 'rescind', rescind: { offerId: offer.id } } });
    // Its held volumes' bytes stay held for the framework.
    if (offer.resources) this.recoverOffer(offer, offerWithoutHeld(offer));
    this.loop.trigger();
  }

  /**
   * Gives back (part of) an offer's resources: a revocable offer's to the revocable pool, any
   * other's to the allocator, with the filter of a DECLINE or ACCEPT.
   */
  recoverOffer(offer: Offer, resources: Resources, filter?: RefuseFilter): void {
    if (offer.revocable === true) {
      const refuse = filter ? (filter.refuseSeconds ?? 5) : undefined;
      this.revocable.release(offer.agentId, resources, offer.frameworkId, refuse);
      return;
    }
    this.clients.recover(offer.frameworkId, offer.allocationRole ?? '', offer.agentId, resources, filter);
  }

  /** Rescinds every outstanding offer matching `predicate`. */
  rescindOffers(predicate: (offer: Offer) => boolean, notify: boolean): void {
    for (const offer of this.offers.removeWhere(predicate)) this.rescindOffer(offer, notify);
  }

  /** Takes back the offers on agent `agentId` (those matching `predicate`), looking at its offers only. */
  rescindAgentOffers(agentId: string, notify: boolean, predicate?: (offer: Offer) => boolean): void {
    for (const offer of this.offers.removeOnAgent(agentId, predicate)) this.rescindOffer(offer, notify);
  }

  /**
   * Records a new state of a task. When it becomes terminal its resources go back to the
   * allocator; the record itself stays until the update is acknowledged.
   */
  applyStatus(record: TaskRecord, status: TaskStatus): void {
    const wasTerminal = isTerminal(record.task.state);
    record.task.state = status.state;
    record.task.status = status;
    record.goneAt = isGone(status.state) ? (record.goneAt ?? Date.now()) : undefined;
    if (!wasTerminal && isTerminal(status.state) && record.task.resources) {
      const { frameworkId, role, agentId } = record.task;
      // A task on revocable resources held them in the revocable pool, never in the allocator.
      if (record.task.onRevocable === true) this.revocable.release(agentId, record.task.resources);
      else this.clients.recover(frameworkId, role, agentId, record.task.resources);
      this.clients.releaseRetired(frameworkId, role, () => this.liveInRole(frameworkId, role));
      this.loop.trigger();
    }
    this.hooks.statusUpdate.call(status);
  }

  /** Creates a status made by the master, e.g. LOST when an agent is removed. */
  masterStatus(task: Task, state: TaskStatus['state'], reason: string, message: string): TaskStatus {
    return {
      taskId: task.taskId,
      frameworkId: task.frameworkId,
      agentId: task.agentId,
      state,
      reason,
      message,
      source: StatusSource.SOURCE_MASTER,
      timestamp: Date.now() / 1000,
      uuid: '',
    };
  }

  /** Applies a status the master made itself and sends it to the framework, retried until acknowledged. */
  reportStatus(record: TaskRecord, state: TaskStatus['state'], reason: string, message: string): void {
    const status = this.masterStatus(record.task, state, reason, message);
    this.applyStatus(record, status);
    this.masterUpdates.enqueue(status);
  }

  /** Forgets a finished task: it moves to the bounded list of completed tasks. */
  finishTask(key: string): void {
    const record = this.tasks.get(key);
    if (!record) return;
    this.tasks.delete(key);
    this.agents.get(record.task.agentId)?.tasks.delete(key);
    this.frameworks.get(record.task.frameworkId)?.tasks.delete(key);
    this.completed.set(key, record.task);
    if (this.completed.size > COMPLETED_LIMIT) {
      const oldest = this.completed.keys().next().value;
      if (oldest !== undefined) this.completed.delete(oldest);
    }
  }

  /** True when the framework has a live task in `role`. */
  liveInRole(frameworkId: string, role: string): boolean {
    for (const key of this.frameworks.get(frameworkId)?.tasks ?? []) {
      const task = this.tasks.get(key)?.task;
      if (task?.role === role && !isTerminal(task.state)) return true;
    }
    return false;
  }

  /**
   * Forgets what outlived the retention period: records of removed frameworks and lost tasks, and
   * tasks that ended or became unreachable and were never acknowledged or never came back (an
   * agent that stays away, a framework that never acknowledges), with the master's retries of
   * their updates. Returns how many tasks were forgotten.
   */
  sweepRecords(now = Date.now()): number {
    this.removedFrameworks.prune();
    this.lostTasks.prune();
    let forgotten = 0;
    for (const [key, record] of this.tasks) {
      if (record.goneAt === undefined || !expired(record.goneAt, now, this.limits.recordRetentionMs)) continue;
      this.masterUpdates.dropTask(record.task.frameworkId, record.task.taskId);
      this.finishTask(key);
      forgotten += 1;
    }
    return forgotten;
  }

  /** Adds a task record to every index. */
  addTask(task: Task): TaskRecord {
    const key = taskKey(task.frameworkId, task.taskId);
    const record: TaskRecord = { task, killRequested: false };
    this.tasks.set(key, record);
    this.agents.get(task.agentId)?.tasks.add(key);
    this.frameworks.get(task.frameworkId)?.tasks.add(key);
    return record;
  }

  /** Asks an agent to kill a task; remembered if the agent is away. */
  killTask(record: TaskRecord): void {
    record.killRequested = true;
    const connection = this.agents.get(record.task.agentId)?.connection;
    connection?.send({
      message: { $case: 'killTask', killTask: { frameworkId: record.task.frameworkId, taskId: record.task.taskId } },
    });
  }
}
