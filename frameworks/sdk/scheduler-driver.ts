/**
 * The scheduler driver: a framework's connection to the master, in the manner of Mesos' v1
 * scheduler library. It subscribes, delivers events to a {@link Scheduler} in order, sends calls,
 * acknowledges status updates, and re-subscribes on its own when the connection breaks — with the
 * same framework id, so its tasks survive — followed by implicit reconciliation.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { hostname } from 'node:os';
import { GalaxyError } from '../../core/errors.js';
import type { TlsFiles } from '../../core/tls.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { Filters, FrameworkInfo, TaskInfo, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type {
  CallResponse,
  Event,
  FrameworkEvent,
  Operation,
  PreemptionPlan,
  SchedulerCall,
  Subscribed,
} from '../../proto/gen/galaxy/v1/scheduler.js';
import { FATAL_CODES, MasterLink } from './master-link.js';
import { AcknowledgementBatcher } from './acknowledgements.js';
import { checkedUpdates } from './updates.js';
import type { Scheduler } from './scheduler.js';
import type { FrameworkOptions, FrameworkUpdate, PreemptRequest, SchedulerDriver } from './driver.js';

// Frameworks written against this module before the interface had its own keep compiling.
export type { SchedulerDriver } from './driver.js';

/** How to run a driver. */
export interface DriverOptions {
  /** The master, `host:port`. */
  readonly master: string;
  /** The framework; set `id` to take over an existing framework (failover). */
  readonly framework: FrameworkOptions;
  /** The framework's event handlers. */
  readonly scheduler: Scheduler;
  /** Acknowledge updates that carry a uuid once the `update` handler returns. Default true. */
  readonly autoAcknowledge?: boolean;
  /** Send an implicit RECONCILE after every (re-)subscription. Default true. */
  readonly reconcileOnSubscribe?: boolean;
  /** Re-subscription backoff in ms. Default 100 → 5000. */
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
  /** How long an open stream may stay silent before SUBSCRIBED arrives. Default 10 000 ms. */
  readonly subscribeTimeoutMs?: number;
  /** Deadline of each call; past it the call rejects with GALAXY_E_UNAVAILABLE. Default 30 000 ms. */
  readonly callTimeoutMs?: number;
  readonly logger?: Logger;
  /** The framework's bearer token (a user's); none for an open master. */
  readonly token?: string;
  /** TLS towards the master: its CA, and the framework's certificate for mutual TLS; none: plaintext. */
  readonly tls?: TlsFiles;
}

/** Marks code running inside a handler, so `stop()` from a handler does not wait for itself. */
const insideHandler = new AsyncLocalStorage<true>();

/** A framework's connection to the master over its gRPC scheduler API. */
export class GrpcSchedulerDriver implements SchedulerDriver {
  private readonly log: Logger;
  private link: MasterLink | undefined;
  /** The id to subscribe with next; kept across stop() so a restart fails over. */
  private id: string;
  private everSubscribed = false;
  /** Handlers run here one after the other, in arrival order. */
  private queue: Promise<void> = Promise.resolve();
  private pendingStart: { resolve: (id: string) => void; reject: (error: GalaxyError) => void } | undefined;
  /** Acknowledgements, sent once per turn of the event loop. */
  private readonly acks = new AcknowledgementBatcher((call) => this.call(call));

  /** Creates a driver; nothing is sent before {@link start}. */
  constructor(private readonly options: DriverOptions) {
    this.log = options.logger ?? createLogger(`framework:${options.framework.name}`);
    this.id = options.framework.id ?? '';
  }

  /** The framework id ('' before the first SUBSCRIBED). */
  get frameworkId(): string {
    return this.link?.frameworkId ?? this.id;
  }

  /**
   * Subscribes and keeps the subscription alive. Resolves with the framework id once the first
   * SUBSCRIBED has been handled; rejects when the master refuses the framework, or when
   * {@link stop} comes first. An unreachable master is retried, not reported.
   */
  start(): Promise<string> {
    if (this.link) return Promise.reject(new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'the driver is already started'));
    const started = new Promise<string>((resolve, reject) => {
      this.pendingStart = { resolve, reject };
    });
    const info: FrameworkInfo = {
      role: '',
      roles: [],
      user: '',
      failoverTimeoutS: 0,
      hostname: hostname(),
      ...this.options.framework,
      id: this.id,
    };
    const link: MasterLink = new MasterLink(
      {
        master: this.options.master,
        reconnect: this.options.reconnect ?? { initialMs: 100, maxMs: 5000 },
        subscribeTimeoutMs: this.options.subscribeTimeoutMs ?? 10_000,
        callTimeoutMs: this.options.callTimeoutMs ?? 30_000,
        log: this.log,
        token: this.options.token,
        tls: this.options.tls,
      },
      info,
      {
        event: (event) => {
          this.enqueue(link, () => this.dispatch(event));
        },
        lost: (_error, wasSubscribed) => {
          if (wasSubscribed) this.enqueue(link, async () => this.options.scheduler.disconnected?.(this));
        },
        refused: (error) => {
          this.fatal(link, error);
        },
      },
    );
    this.link = link;
    return started;
  }

  /**
   * Closes the connection without tearing down: the master keeps the framework's tasks for its
   * failover timeout, so this driver (or another one given the id) can take over. Resolves when
   * no handler runs any more; safe to call from a handler.
   */
  async stop(): Promise<void> {
    this.close();
    if (!insideHandler.getStore()) await this.queue;
  }

  /** ACCEPT offers (all of one agent) with operations, or with one LAUNCH of the given tasks. */
  accept(
    offerIds: readonly string[],
    work: readonly Operation[] | readonly TaskInfo[],
    filters?: Filters,
  ): Promise<void> {
    return this.call({ $case: 'accept', accept: { offerIds: [...offerIds], operations: toOperations(work), filters } });
  }

  /** ACCEPT one offer (or several of one agent) with one LAUNCH of `tasks`. */
  launch(offerIds: string | readonly string[], tasks: readonly TaskInfo[], filters?: Filters): Promise<void> {
    return this.accept(typeof offerIds === 'string' ? [offerIds] : offerIds, tasks, filters);
  }

  /** DECLINE offers; `filters.refuseSeconds` keeps their agents from being offered again that long. */
  decline(offerIds: readonly string[], filters?: Filters): Promise<void> {
    return this.call({ $case: 'decline', decline: { offerIds: [...offerIds], filters } });
  }

  /** REVIVE `roles` (default: all): clears their refuse filters and resumes offers after SUPPRESS. */
  revive(roles: readonly string[] = []): Promise<void> {
    return this.call({ $case: 'revive', revive: { roles: [...roles] } });
  }

  /** SUPPRESS `roles` (default: all): no offers until REVIVE; what a framework with nothing to launch should say. */
  suppress(roles: readonly string[] = []): Promise<void> {
    return this.call({ $case: 'suppress', suppress: { roles: [...roles] } });
  }

  /** The roles the framework subscribes with (empty: its single role, or its owner's). */
  get roles(): readonly string[] {
    return this.link?.framework.roles ?? this.options.framework.roles ?? [];
  }

  /**
   * UPDATE_FRAMEWORK: new roles (each held by the framework's owner), name or failover timeout.
   * Offers of dropped roles are rescinded; tasks still running in one keep running. The new info
   * is also what the driver re-subscribes with, so a master failover keeps it. Rejects, changing
   * nothing, when the master refuses (GALAXY_E_PERMISSION_DENIED for a role the owner lacks).
   */
  async updateFramework(update: FrameworkUpdate): Promise<void> {
    const link = this.link;
    if (!link) throw new GalaxyError('GALAXY_E_UNAVAILABLE', 'the driver is not started');
    const info: FrameworkInfo = {
      ...link.framework,
      ...(update.roles ? { roles: [...update.roles] } : {}),
      ...(update.name === undefined ? {} : { name: update.name }),
      ...(update.failoverTimeoutS === undefined ? {} : { failoverTimeoutS: update.failoverTimeoutS }),
    };
    try {
      await link.call({ $case: 'updateFramework', updateFramework: { frameworkInfo: info } });
    } catch (error) {
      // An answer that never came may or may not have been applied: a re-subscription settles it.
      if (error instanceof GalaxyError && error.code === 'GALAXY_E_UNAVAILABLE') link.setInfo(info);
      throw error;
    }
    link.setInfo(info);
  }

  /** KILL a task; its end arrives as a status update. */
  kill(taskId: string, agentId = ''): Promise<void> {
    return this.call({ $case: 'kill', kill: { taskId, agentId } });
  }

  /** ACKNOWLEDGE a status update that carries a uuid (only needed with `autoAcknowledge: false`). */
  acknowledge(status: Pick<TaskStatus, 'agentId' | 'taskId' | 'uuid'>): Promise<void> {
    const { agentId, taskId, uuid } = status;
    if (!this.link) return Promise.reject(new GalaxyError('GALAXY_E_UNAVAILABLE', 'the driver is not started'));
    // Batched with the others of this turn of the event loop (./acknowledgements.ts).
    return this.acks.add({ agentId, taskId, uuid });
  }

  /** RECONCILE the named tasks, or every task the master knows when none are named (implicit). */
  reconcile(tasks: readonly { readonly taskId: string; readonly agentId?: string }[] = []): Promise<void> {
    const named = tasks.map((t) => ({ taskId: t.taskId, agentId: t.agentId ?? '' }));
    return this.call({ $case: 'reconcile', reconcile: { tasks: named } });
  }

  /** TEARDOWN: the master kills every task of the framework and forgets it; the driver stops. */
  async teardown(): Promise<void> {
    const link = this.link;
    if (link) link.expectingEnd = true;
    try {
      await this.call({ $case: 'teardown', teardown: {} });
    } catch (error) {
      link?.teardownFailed();
      throw error;
    }
    this.close();
    // The id is dead now; a later start() subscribes a new framework.
    this.id = '';
    if (!insideHandler.getStore()) await this.queue;
  }

  /** Deletes one of this framework's persistent disk volumes on an agent, now or once its container ends (docs/disks.md). */
  destroyVolume(agentId: string, volumeId: string): Promise<void> {
    return this.call({ $case: 'disksDestroyVolume', disksDestroyVolume: { agentId, volumeId } });
  }

  /** MESSAGE: bytes to a task on an agent. */
  message(agentId: string, taskId: string, data: Uint8Array): Promise<void> {
    return this.call({ $case: 'message', message: { agentId, taskId, data: Buffer.from(data) } });
  }

  /**
   * PREEMPT: asks the master to make room for a task of `band` that cannot be placed (`role`: which
   * of the framework's roles asks; needed when it holds several). Resolves
   * with the plan: granted (victims killed, the freed resources offered to this framework alone
   * for a few seconds) or refused with the reason. While a request id has a preemption
   * outstanding, asking again returns that plan and preempts nothing more. `dryRun: true` asks
   * which victims the master would pick now, and changes nothing.
   */
  async preempt(request: PreemptRequest): Promise<PreemptionPlan> {
    const response = await this.callFor({
      $case: 'preempt',
      preempt: { pool: '', labels: {}, reason: '', role: '', dryRun: false, assumePreempted: [], ...request },
    });
    if (!response.preemption) throw new GalaxyError('GALAXY_E_INTERNAL', 'the master answered PREEMPT without a plan');
    return response.preemption;
  }

  /** PUBLISH_EVENTS: job and pod events for the master's event log (see `event-publisher.ts`). */
  publishEvents(events: FrameworkEvent[]): Promise<void> {
    return this.call({ $case: 'publishEvents', publishEvents: { events } });
  }

  private call(body: NonNullable<SchedulerCall['call']>): Promise<void> {
    return this.callFor(body).then(() => undefined);
  }

  private callFor(body: NonNullable<SchedulerCall['call']>): Promise<CallResponse> {
    if (!this.link) return Promise.reject(new GalaxyError('GALAXY_E_UNAVAILABLE', 'the driver is not started'));
    return this.link.call(body);
  }

  /** Stops for good and tells the framework why. */
  private fatal(link: MasterLink, error: GalaxyError): void {
    if (link !== this.link) return;
    this.log.error({ code: error.code }, error.message);
    this.pendingStart?.reject(error);
    this.pendingStart = undefined;
    this.close();
    this.enqueue(undefined, async () =>
      this.options.scheduler.error?.(this, { code: error.code, message: error.detail, fatal: true }),
    );
  }

  /** The synchronous part of stopping: the link closes; queued events are dropped. */
  private close(): void {
    const link = this.link;
    this.link = undefined;
    this.acks.clear(new GalaxyError('GALAXY_E_UNAVAILABLE', 'the driver stopped before the acknowledgement left'));
    if (!link) return;
    this.id = link.frameworkId;
    link.close();
    this.pendingStart?.reject(
      new GalaxyError('GALAXY_E_UNAVAILABLE', `the driver was stopped before ${link.target} accepted the subscription`),
    );
    this.pendingStart = undefined;
  }

  /**
   * Runs `work` after every earlier handler, if `link` is still the driver's by then: events of a
   * stopped link are dropped. Work of no link always runs.
   */
  private enqueue(link: MasterLink | undefined, work: () => Promise<void>): void {
    this.queue = this.queue
      .then(() => (link === undefined || link === this.link ? insideHandler.run(true, work) : undefined))
      .catch((error: unknown) => {
        this.log.error({ err: error instanceof Error ? error.message : String(error) }, 'a scheduler handler failed');
      });
  }

  private async dispatch(event: Event): Promise<void> {
    const body = event.event;
    const scheduler = this.options.scheduler;
    switch (body?.$case) {
      case 'subscribed':
        await this.subscribed(body.subscribed);
        return;
      case 'offers':
        await scheduler.offers?.(this, body.offers.offers);
        return;
      case 'rescind':
        await scheduler.rescind?.(this, body.rescind.offerId);
        return;
      case 'update':
        if (body.update.status) await this.update(body.update.status);
        return;
      case 'updates':
        // Several updates in one event: each handled as if it had come alone, in order (a handler
        // that throws leaves that one unacknowledged, and the next is handled).
        for (const status of this.checkedUpdates(body.updates.statuses))
          await this.update(status).catch((error: unknown) => {
            this.log.error(
              { err: error instanceof Error ? error.message : String(error) },
              'a scheduler handler failed',
            );
          });
        return;
      case 'failure':
        await scheduler.failure?.(this, body.failure.agentId);
        return;
      case 'agentDraining':
        await scheduler.agentDraining?.(this, body.agentDraining.agentId, body.agentDraining.draining);
        return;
      case 'error': {
        // A fatal code means the master has dropped us: stop first, so the handler sees a stopped driver.
        const fatal = FATAL_CODES.has(body.error.code);
        if (fatal) this.close();
        await scheduler.error?.(this, { ...body.error, fatal });
        return;
      }
      case 'message':
        await scheduler.message?.(this, body.message);
        return;
      case 'heartbeat':
      case undefined:
        return;
    }
  }

  private async subscribed(subscribed: Subscribed): Promise<void> {
    const resubscribed = this.everSubscribed;
    this.everSubscribed = true;
    await this.options.scheduler.subscribed?.(this, { ...subscribed, resubscribed });
    this.pendingStart?.resolve(subscribed.frameworkId);
    this.pendingStart = undefined;
    if (!(this.options.reconcileOnSubscribe ?? true)) return;
    await this.reconcile().catch((error: unknown) => {
      // The next subscription reconciles again; nothing is lost by only logging here.
      this.log.warn({ err: String(error) }, 'implicit reconciliation failed');
    });
  }

  /** The statuses of an UPDATES event that pass the checks of `./updates.ts` (none when it carries too many). */
  private checkedUpdates(statuses: readonly TaskStatus[]): TaskStatus[] {
    try {
      return checkedUpdates(statuses, this.frameworkId, (status, error) => {
        this.log.warn(
          { task: status.taskId.slice(0, 100), code: error.code },
          `dropped a status update: ${error.detail}`,
        );
      });
    } catch (error) {
      this.log.error({ err: String(error) }, 'dropped an UPDATES event');
      return [];
    }
  }

  private async update(status: TaskStatus): Promise<void> {
    await this.options.scheduler.update?.(this, status);
    // Reconciliation answers carry no uuid: there is nothing to acknowledge.
    if (status.uuid === '' || !(this.options.autoAcknowledge ?? true) || !this.link) return;
    // Not awaited: the next event need not wait a round trip to the master (acknowledgements
    // still leave in order; a lost one only means the update comes again).
    void this.acknowledge(status).catch((error: unknown) => {
      if (!this.link || this.link.expectingEnd) return; // the master forgets the framework anyway
      // Debug: with the master away every update's acknowledgement fails (337,000 warnings in
      // 30 s at the full cell), and the link already says the master is away.
      this.log.debug({ task: status.taskId, err: String(error) }, 'acknowledgement failed; the update will come again');
    });
  }
}

/** LAUNCH operations as given, or one LAUNCH wrapping bare tasks. */
function toOperations(work: readonly Operation[] | readonly TaskInfo[]): Operation[] {
  const tasks = work.filter((w): w is TaskInfo => 'taskId' in w);
  const operations = work.filter((w): w is Operation => !('taskId' in w));
  if (tasks.length === 0) return operations;
  return [...operations, { operation: { $case: 'launch', launch: { taskInfos: tasks } } }];
}
