/**
 * The scheduler driver interface: what a framework calls to act on the master. Frameworks and
 * the {@link Scheduler} handlers depend on this interface only; {@link GrpcSchedulerDriver}
 * (`scheduler-driver.ts`) implements it over the master's gRPC scheduler API, so the handlers'
 * module and the driver's never import each other.
 */
import type { Filters, FrameworkInfo, TaskInfo, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { FrameworkEvent, Operation, PreemptCall, PreemptionPlan } from '../../proto/gen/galaxy/v1/scheduler.js';

/**
 * The framework as the driver subscribes it; unset fields take the master's defaults. `roles`
 * (MULTI_ROLE) names every role the framework is offered resources for; without it the single
 * `role`, or the owner's own role. Every role must be held by the user whose token subscribes.
 */
export type FrameworkOptions = Partial<FrameworkInfo> & { readonly name: string };

/** What UPDATE_FRAMEWORK may change. */
export interface FrameworkUpdate {
  readonly roles?: readonly string[];
  readonly name?: string;
  readonly failoverTimeoutS?: number;
}

/** What PREEMPT asks for: the pool, labels, reason, role and assumed victims default to none; `dryRun` to false. */
export type PreemptRequest = Omit<PreemptCall, 'labels' | 'reason' | 'pool' | 'role' | 'dryRun' | 'assumePreempted'> &
  Partial<PreemptCall>;

/** A framework's connection to the master, as frameworks use it. */
export interface SchedulerDriver {
  /** The framework id ('' before the first SUBSCRIBED). */
  readonly frameworkId: string;
  /** The roles the framework subscribes with (empty: its single role, or its owner's). */
  readonly roles: readonly string[];
  /**
   * Subscribes and keeps the subscription alive. Resolves with the framework id once the first
   * SUBSCRIBED has been handled; rejects when the master refuses the framework, or when
   * {@link SchedulerDriver.stop} comes first.
   */
  start(): Promise<string>;
  /**
   * Closes the connection without tearing down: the master keeps the framework's tasks for its
   * failover timeout. Resolves when no handler runs any more; safe to call from a handler.
   */
  stop(): Promise<void>;
  /** ACCEPT offers (all of one agent) with operations, or with one LAUNCH of the given tasks. */
  accept(
    offerIds: readonly string[],
    work: readonly Operation[] | readonly TaskInfo[],
    filters?: Filters,
  ): Promise<void>;
  /** ACCEPT one offer (or several of one agent) with one LAUNCH of `tasks`. */
  launch(offerIds: string | readonly string[], tasks: readonly TaskInfo[], filters?: Filters): Promise<void>;
  /** DECLINE offers; `filters.refuseSeconds` keeps their agents from being offered again that long. */
  decline(offerIds: readonly string[], filters?: Filters): Promise<void>;
  /** REVIVE `roles` (default: all): clears their refuse filters and resumes offers after SUPPRESS. */
  revive(roles?: readonly string[]): Promise<void>;
  /** SUPPRESS `roles` (default: all): no offers until REVIVE. */
  suppress(roles?: readonly string[]): Promise<void>;
  /**
   * UPDATE_FRAMEWORK: new roles (each held by the framework's owner), name or failover timeout.
   * Rejects, changing nothing, when the master refuses.
   */
  updateFramework(update: FrameworkUpdate): Promise<void>;
  /** KILL a task; its end arrives as a status update. */
  kill(taskId: string, agentId?: string): Promise<void>;
  /** ACKNOWLEDGE a status update that carries a uuid (only needed without auto-acknowledgement). */
  acknowledge(status: Pick<TaskStatus, 'agentId' | 'taskId' | 'uuid'>): Promise<void>;
  /** RECONCILE the named tasks, or every task the master knows when none are named (implicit). */
  reconcile(tasks?: readonly { readonly taskId: string; readonly agentId?: string }[]): Promise<void>;
  /** TEARDOWN: the master kills every task of the framework and forgets it; the driver stops. */
  teardown(): Promise<void>;
  /** MESSAGE: bytes to a task on an agent. */
  message(agentId: string, taskId: string, data: Uint8Array): Promise<void>;
  /** Deletes one of the framework's persistent disk volumes on an agent, now or once its container ends (docs/disks.md). */
  destroyVolume(agentId: string, volumeId: string): Promise<void>;
  /**
   * PREEMPT: asks the master to make room for a task of `band` that cannot be placed. Resolves
   * with the plan: granted (victims killed, what they free offered to this framework alone for a
   * few seconds) or refused with the reason. With `dryRun` the master answers the plan it would
   * carry out now and changes nothing.
   */
  preempt(request: PreemptRequest): Promise<PreemptionPlan>;
  /** PUBLISH_EVENTS: job and pod events for the master's event log (optional: fakes may leave it out). */
  publishEvents?(events: FrameworkEvent[]): Promise<void>;
}
