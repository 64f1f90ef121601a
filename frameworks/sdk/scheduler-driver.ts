/**
 * The scheduler driver: a framework's connection to the master, in the manner of Mesos' v1
 * scheduler library. It subscribes, delivers events to a {@link Scheduler} in order, sends calls,
 * acknowledges status updates, and re-subscribes on its own when the connection breaks — with the
 * same framework id, so its tasks survive — followed by implicit reconciliation.
 */
import { credentials, status as grpcStatus, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { Backoff } from '../../core/backoff.js';
import { GalaxyError } from '../../core/errors.js';
import { fromGrpcError } from '../../core/grpc-errors.js';
import { createLogger, type Logger } from '../../core/logger.js';
import type { Filters, FrameworkInfo, TaskInfo, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import {
  SchedulerClient,
  type Event,
  type Operation,
  type SchedulerCall,
} from '../../proto/gen/galaxy/v1/scheduler.js';
import type { Scheduler } from './scheduler.js';

/** How to run a driver. */
export interface DriverOptions {
  /** The master, `host:port`. */
  readonly master: string;
  /** The framework; set `id` to take over an existing framework (failover). */
  readonly framework: Partial<FrameworkInfo> & { readonly name: string };
  readonly scheduler: Scheduler;
  /** Acknowledge updates after the handler returns. Default true. */
  readonly autoAcknowledge?: boolean;
  /** Send an implicit RECONCILE after every (re-)subscription. Default true. */
  readonly reconcileOnSubscribe?: boolean;
  /** Reconnect backoff (ms). Default 100 → 5000. */
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
  readonly logger?: Logger;
}

/** Errors after which re-subscribing cannot help. */
const FATAL = new Set(['GALAXY_E_FRAMEWORK_INVALID', 'GALAXY_E_FRAMEWORK_UNKNOWN']);

/** A framework's connection to the master. */
export class SchedulerDriver {
  private readonly client: SchedulerClient;
  private readonly log: Logger;
  private readonly backoff: Backoff;
  private stream: ClientReadableStream<Event> | undefined;
  private id: string;
  private stopped = false;
  private tearingDown = false;
  private everSubscribed = false;
  private queue: Promise<void> = Promise.resolve();
  private retry?: NodeJS.Timeout;
  private watchdog?: NodeJS.Timeout;
  private lastEvent = 0;
  private firstSubscription?: { resolve: (id: string) => void; reject: (error: GalaxyError) => void };

  constructor(private readonly options: DriverOptions) {
    this.client = new SchedulerClient(options.master, credentials.createInsecure());
    this.log = options.logger ?? createLogger(`framework:${options.framework.name}`);
    this.backoff = new Backoff(options.reconnect?.initialMs ?? 100, options.reconnect?.maxMs ?? 5000);
    this.id = options.framework.id ?? '';
  }

  /** The framework id ('' before the first SUBSCRIBED). */
  get frameworkId(): string {
    return this.id;
  }

  /** Subscribes; resolves with the framework id once SUBSCRIBED, rejects on a refusal. */
  start(): Promise<string> {
    this.stopped = false;
    return new Promise((resolve, reject) => {
      this.firstSubscription = { resolve, reject };
      this.subscribe();
    });
  }

  /** Closes the connection without tearing down: the master keeps the tasks for the failover timeout. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.watchdog);
    this.stream?.cancel();
    this.stream = undefined;
    this.client.close();
    await this.queue;
  }

  /** ACCEPT with operations. */
  accept(offerIds: string[], operations: Operation[], filters?: Filters): Promise<void> {
    return this.call({ $case: 'accept', accept: { offerIds, operations, filters } });
  }

  /** ACCEPT with one LAUNCH of `tasks`. */
  launch(offerIds: string[], tasks: TaskInfo[], filters?: Filters): Promise<void> {
    return this.accept(offerIds, [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }], filters);
  }

  /** DECLINE, optionally filtering the agents for `refuseSeconds`. */
  decline(offerIds: string[], filters?: Filters): Promise<void> {
    return this.call({ $case: 'decline', decline: { offerIds, filters } });
  }

  /** REVIVE: clears filters and resumes offers. */
  revive(): Promise<void> {
    return this.call({ $case: 'revive', revive: { roles: [] } });
  }

  /** SUPPRESS: no offers until REVIVE. */
  suppress(): Promise<void> {
    return this.call({ $case: 'suppress', suppress: { roles: [] } });
  }

  /** KILL a task. */
  kill(taskId: string, agentId = ''): Promise<void> {
    return this.call({ $case: 'kill', kill: { taskId, agentId } });
  }

  /** ACKNOWLEDGE a status update that carries a uuid. */
  acknowledge(status: TaskStatus): Promise<void> {
    return this.call({
      $case: 'acknowledge',
      acknowledge: { agentId: status.agentId, taskId: status.taskId, uuid: status.uuid },
    });
  }

  /** RECONCILE the named tasks, or every task when none are named. */
  reconcile(tasks: { taskId: string; agentId?: string }[] = []): Promise<void> {
    return this.call({
      $case: 'reconcile',
      reconcile: { tasks: tasks.map((t) => ({ taskId: t.taskId, agentId: t.agentId ?? '' })) },
    });
  }

  /** TEARDOWN: the master kills every task of the framework and forgets it; the driver stops. */
  async teardown(): Promise<void> {
    // The master closes the stream as it tears down: that end is expected, not a failure to heal.
    this.tearingDown = true;
    try {
      await this.call({ $case: 'teardown', teardown: {} });
    } finally {
      this.tearingDown = false;
    }
    await this.stop();
  }

  /** MESSAGE: bytes to a task on an agent. */
  message(agentId: string, taskId: string, data: Uint8Array): Promise<void> {
    return this.call({ $case: 'message', message: { agentId, taskId, data: Buffer.from(data) } });
  }

  private call(body: NonNullable<SchedulerCall['call']>): Promise<void> {
    if (this.id === '')
      return Promise.reject(new GalaxyError('GALAXY_E_FRAMEWORK_UNKNOWN', 'the driver has not subscribed yet'));
    return new Promise((resolve, reject) => {
      this.client.call({ frameworkId: this.id, call: body }, (error: ServiceError | null) => {
        if (error) reject(fromGrpcError(error, `the master at ${this.options.master}`));
        else resolve();
      });
    });
  }

  private subscribe(): void {
    if (this.stopped) return;
    const info: FrameworkInfo = {
      role: '*',
      user: '',
      failoverTimeoutS: 0,
      hostname: '',
      ...this.options.framework,
      id: this.id,
    };
    const stream = this.client.subscribe({ frameworkInfo: info });
    this.stream = stream;
    this.lastEvent = Date.now();
    stream.on('data', (event: Event) => {
      this.lastEvent = Date.now();
      this.queue = this.queue
        .then(() => this.dispatch(event))
        .catch((error: unknown) => {
          this.log.error({ err: String(error) }, 'a scheduler handler failed');
        });
    });
    stream.on('error', (error: ServiceError) => {
      if (error.code === grpcStatus.CANCELLED && this.stopped) return;
      this.broken(stream, fromGrpcError(error, `the master at ${this.options.master}`));
    });
    stream.on('end', () => {
      this.broken(stream, new GalaxyError('GALAXY_E_UNAVAILABLE', 'the master closed the event stream'));
    });
  }

  private broken(stream: ClientReadableStream<Event>, error: GalaxyError): void {
    if (this.stream !== stream || this.stopped || this.tearingDown) return;
    this.stream = undefined;
    clearInterval(this.watchdog);
    if (FATAL.has(error.code)) {
      this.log.error({ code: error.code }, error.message);
      this.firstSubscription?.reject(error);
      this.firstSubscription = undefined;
      this.queue = this.queue.then(() =>
        this.options.scheduler.error?.(this, { code: error.code, message: error.message }),
      );
      void this.stop();
      return;
    }
    const delay = this.backoff.next();
    this.log.warn({ reason: error.message, retryMs: delay }, 'disconnected from the master; re-subscribing');
    if (this.everSubscribed) this.queue = this.queue.then(() => this.options.scheduler.disconnected?.(this));
    this.retry = setTimeout(() => {
      this.subscribe();
    }, delay);
  }

  private async dispatch(event: Event): Promise<void> {
    const body = event.event;
    const scheduler = this.options.scheduler;
    switch (body?.$case) {
      case 'subscribed': {
        const resubscribed = this.everSubscribed;
        this.id = body.subscribed.frameworkId;
        this.everSubscribed = true;
        this.backoff.reset();
        this.startWatchdog(body.subscribed.heartbeatIntervalS);
        this.firstSubscription?.resolve(this.id);
        this.firstSubscription = undefined;
        await scheduler.subscribed?.(this, { ...body.subscribed, resubscribed });
        if (this.options.reconcileOnSubscribe ?? true) await this.reconcile();
        return;
      }
      case 'offers':
        await scheduler.offers?.(this, body.offers.offers);
        return;
      case 'rescind':
        await scheduler.rescind?.(this, body.rescind.offerId);
        return;
      case 'update': {
        const status = body.update.status;
        if (!status) return;
        await scheduler.update?.(this, status);
        if (status.uuid !== '' && !this.stopped && (this.options.autoAcknowledge ?? true)) {
          await this.acknowledge(status).catch((error: unknown) => {
            if (this.stopped || this.tearingDown) return; // the master forgets the framework anyway
            this.log.warn(
              { task: status.taskId, err: String(error) },
              'acknowledgement failed; the update will come again',
            );
          });
        }
        return;
      }
      case 'failure':
        await scheduler.failure?.(this, body.failure.agentId);
        return;
      case 'error':
        await scheduler.error?.(this, body.error);
        return;
      case 'message':
        await scheduler.message?.(this, body.message);
        return;
      case 'heartbeat':
      case undefined:
        return;
    }
  }

  /** Treats more than three missed heartbeats as a dead connection. */
  private startWatchdog(intervalS: number): void {
    clearInterval(this.watchdog);
    if (!(intervalS > 0)) return;
    const limitMs = intervalS * 1000 * 3;
    this.watchdog = setInterval(
      () => {
        if (Date.now() - this.lastEvent > limitMs && this.stream) {
          const stream = this.stream;
          this.broken(stream, new GalaxyError('GALAXY_E_UNAVAILABLE', `no heartbeat for ${limitMs} ms`));
          stream.cancel();
        }
      },
      Math.min(1000, intervalS * 1000),
    );
    this.watchdog.unref();
  }
}
