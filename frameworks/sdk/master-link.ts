/**
 * A framework's link to the master, below the driver: one gRPC channel, the SUBSCRIBE event
 * stream kept alive (re-subscribed with backoff under the same framework id when it ends, fails
 * or goes silent), and unary calls. It knows nothing of handlers; the driver does.
 */
import { clientOptions } from '../../core/auth/client.js';
import { Metadata, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { channelCredentials, type TlsFiles } from '../../core/tls.js';
import { Backoff } from '../../core/backoff.js';
import { GalaxyError } from '../../core/errors.js';
import { callUnary, fromGrpcError } from '../../core/grpc-errors.js';
import { LeaderLocator, MASTER_GROUP } from '../../core/leader-locator.js';
import type { Logger } from '../../core/logger.js';
import type { FrameworkInfo } from '../../proto/gen/galaxy/v1/common.js';
import {
  SchedulerClient,
  type CallResponse,
  type Event,
  type SchedulerCall,
} from '../../proto/gen/galaxy/v1/scheduler.js';
import { Limiter } from '../../core/concurrency.js';
import { receiveWindowOptions } from '../../core/grpc-limits.js';
import { Watchdog } from './watchdog.js';

/** How a link connects. */
export interface MasterLinkOptions {
  /** The master, `host:port`, or a coordinator URL (`zk://…`) to find the leading master through. */
  readonly master: string;
  /** Re-subscription backoff in ms. */
  readonly reconnect: { readonly initialMs: number; readonly maxMs: number };
  /** How long an open stream may stay silent before SUBSCRIBED arrives. */
  readonly subscribeTimeoutMs: number;
  /** Deadline of each call. */
  readonly callTimeoutMs: number;
  readonly log: Logger;
  /** The framework's bearer token; none for an open master. */
  readonly token?: string;
  /** TLS towards the master; none: plaintext. */
  readonly tls?: TlsFiles;
}

/** What the link reports to its owner. */
export interface MasterLinkListener {
  /** An event of the current stream, after the link's own bookkeeping. */
  event(event: Event): void;
  /** The stream broke; the link re-subscribes. `wasSubscribed`: SUBSCRIBED had arrived on it. */
  lost(error: GalaxyError, wasSubscribed: boolean): void;
  /** The master refused the framework for good; the link has closed. */
  refused(error: GalaxyError): void;
}

/** Heartbeat intervals that may pass in silence before the connection counts as dead. */
const MISSED_HEARTBEATS = 3;

/**
 * Codes after which re-subscribing cannot help: the framework is gone or its info is refused, or
 * the master refuses its token (unknown, revoked) or the principal it belongs to.
 */
export const FATAL_CODES: ReadonlySet<string> = new Set([
  'GALAXY_E_FRAMEWORK_INVALID',
  'GALAXY_E_FRAMEWORK_UNKNOWN',
  'GALAXY_E_INVALID_ARGUMENT',
  'GALAXY_E_UNAUTHENTICATED',
  'GALAXY_E_PERMISSION_DENIED',
]);

/**
 * Calls a framework may send in bursts of thousands (a round's ACCEPTs, one per agent; a job's
 * KILLs): at most {@link BULK_CALLS_IN_FLIGHT} of them are on the wire at once. The master allows
 * 128 streams per connection; beyond that grpc-js queues a call inside the HTTP/2 session with its
 * deadline already running, and on a busy master the tail of a 12,000-ACCEPT round timed out
 * unsent (issue 16), leaving launches of unknown outcome to reconcile. Queued here instead, a call
 * gets its deadline when it is sent, and the stream and the other calls (acknowledgements,
 * REVIVE, SUPPRESS) keep streams of their own.
 */
const BULK_CALLS: ReadonlySet<string> = new Set([
  'accept',
  'decline',
  'kill',
  'reconcile',
  'message',
  'preempt',
  'disksDestroyVolume',
]);

/** Bulk calls on the wire at once (below the master's 128 streams per connection). */
export const BULK_CALLS_IN_FLIGHT = 64;

/** One framework's channel and event stream to the master. */
export class MasterLink {
  /** The framework id the link subscribes with; set from every SUBSCRIBED. */
  frameworkId: string;
  /** Set while a TEARDOWN is in flight: the master ends the stream, and that is no failure. */
  expectingEnd = false;
  /** How the master is named in errors and logs. */
  readonly target: string;
  private readonly backoff: Backoff;
  private readonly watchdog: Watchdog;
  private client: SchedulerClient | undefined;
  /** The address `client` talks to. */
  private address = '';
  private readonly locator: LeaderLocator;
  private stream: ClientReadableStream<Event> | undefined;
  private subscribed = false;
  private open = true;
  private retry: NodeJS.Timeout | undefined;
  private readonly bulk = new Limiter(BULK_CALLS_IN_FLIGHT);

  /** Opens the channel and subscribes `info` (its id is replaced by {@link frameworkId}). */
  constructor(
    private readonly options: MasterLinkOptions,
    private info: FrameworkInfo,
    private readonly listener: MasterLinkListener,
  ) {
    this.frameworkId = info.id;
    this.target = `the master at ${options.master}`;
    this.locator = new LeaderLocator(options.master, MASTER_GROUP);
    // Through a coordinator a new leader is elected within a session timeout: retry at least
    // every second so the framework re-subscribes soon after.
    const maxMs = this.locator.fixed ? options.reconnect.maxMs : Math.min(options.reconnect.maxMs, 1000);
    this.backoff = new Backoff(options.reconnect.initialMs, maxMs);
    this.watchdog = new Watchdog((silentMs) => {
      const stream = this.stream;
      if (!stream) return;
      this.broken(
        stream,
        new GalaxyError('GALAXY_E_UNAVAILABLE', `nothing heard from ${this.target} for ${silentMs} ms`),
      );
      stream.cancel();
    });
    if (this.locator.fixed) this.useAddress(options.master);
    this.subscribe();
  }

  /** Talks to `address` from now on. */
  private useAddress(address: string): SchedulerClient {
    if (this.client && address === this.address) return this.client;
    this.client?.close();
    this.address = address;
    // grpc-js reconnects a channel on its own schedule (1 s → 120 s); held to the link's, a
    // restarted master is found as soon as the link retries.
    this.client = new SchedulerClient(
      address,
      channelCredentials(this.options.tls),
      clientOptions(this.options.token, {
        'grpc.initial_reconnect_backoff_ms': this.options.reconnect.initialMs,
        'grpc.max_reconnect_backoff_ms': this.options.reconnect.maxMs,
        ...receiveWindowOptions(),
      }),
    );
    return this.client;
  }

  /**
   * Sends one call on behalf of the framework. A bulk call (ACCEPT, DECLINE, KILL …) waits for a
   * turn first, and its deadline starts when it is sent; one still waiting when the link closes
   * is refused unsent.
   */
  call(body: NonNullable<SchedulerCall['call']>): Promise<CallResponse> {
    return BULK_CALLS.has(body.$case) ? this.bulk.run(() => this.send(body)) : this.send(body);
  }

  /** Calls queued behind the bulk calls in flight (for metrics and tests). */
  get bulkQueued(): number {
    return this.bulk.queued;
  }

  private send(body: NonNullable<SchedulerCall['call']>): Promise<CallResponse> {
    if (!this.open) return Promise.reject(new GalaxyError('GALAXY_E_UNAVAILABLE', 'the driver is stopped'));
    if (this.frameworkId === '') {
      return Promise.reject(
        new GalaxyError('GALAXY_E_FRAMEWORK_UNKNOWN', 'the driver has not subscribed yet; await start() first'),
      );
    }
    const client = this.client;
    if (!client) return Promise.reject(new GalaxyError('GALAXY_E_UNAVAILABLE', `${this.target}: no leader found yet`));
    const request: SchedulerCall = { frameworkId: this.frameworkId, call: body };
    const deadline = Date.now() + this.options.callTimeoutMs;
    return callUnary<CallResponse>(this.target, (done) => client.call(request, new Metadata(), { deadline }, done));
  }

  /** The framework info to subscribe with from now on (after UPDATE_FRAMEWORK); the id stays the link's. */
  setInfo(info: FrameworkInfo): void {
    this.info = info;
  }

  /** The framework info the link subscribes with. */
  get framework(): FrameworkInfo {
    return { ...this.info, id: this.frameworkId };
  }

  /** A TEARDOWN failed: if the stream ended meanwhile, heal it as any other break. */
  teardownFailed(): void {
    this.expectingEnd = false;
    if (this.open && !this.stream && !this.retry) this.resubscribeLater('teardown failed');
  }

  /** Closes the stream and the channel, and cancels any retry. Idempotent. */
  close(): void {
    this.open = false;
    clearTimeout(this.retry);
    this.retry = undefined;
    this.watchdog.disarm();
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
    this.client?.close();
  }

  /** Finds the leading master when the target is a coordinator, then opens the event stream. */
  private subscribe(): void {
    if (!this.open) return;
    if (this.locator.fixed) {
      this.openStream(this.useAddress(this.options.master));
      return;
    }
    this.locator.locate().then(
      (address) => {
        if (this.open) this.openStream(this.useAddress(address));
      },
      (error: unknown) => {
        if (this.open) this.resubscribeLater(error instanceof Error ? error.message : String(error));
      },
    );
  }

  private openStream(client: SchedulerClient): void {
    // batchedUpdates: this driver takes several status updates per event (`./updates.ts`).
    const stream = client.subscribe({ frameworkInfo: { ...this.info, id: this.frameworkId }, batchedUpdates: true });
    this.stream = stream;
    this.subscribed = false;
    this.watchdog.arm(this.options.subscribeTimeoutMs);
    stream.on('data', (event: Event) => {
      if (stream !== this.stream) return; // a stream already given up on
      this.watchdog.heard();
      const body = event.event;
      if (body?.$case === 'subscribed') {
        // Bookkeeping on arrival, so a slow handler cannot delay it.
        this.frameworkId = body.subscribed.frameworkId;
        this.subscribed = true;
        this.backoff.reset();
        this.watchdog.arm(body.subscribed.heartbeatIntervalS * 1000 * MISSED_HEARTBEATS);
      }
      this.listener.event(event);
    });
    stream.on('error', (error: ServiceError) => {
      this.broken(stream, fromGrpcError(error, this.target));
    });
    stream.on('end', () => {
      this.broken(stream, new GalaxyError('GALAXY_E_UNAVAILABLE', `${this.target} closed the event stream`));
    });
  }

  /** The stream ended, failed or went silent: re-subscribe, or give up on a fatal refusal. */
  private broken(stream: ClientReadableStream<Event>, error: GalaxyError): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.watchdog.disarm();
    if (!this.open || this.expectingEnd) return;
    if (FATAL_CODES.has(error.code)) {
      this.close();
      this.listener.refused(error);
      return;
    }
    this.listener.lost(error, this.subscribed);
    this.resubscribeLater(error.message);
  }

  private resubscribeLater(reason: string): void {
    const delayMs = this.backoff.next();
    this.options.log.warn({ reason, retryMs: delayMs }, 'not subscribed to the master; re-subscribing');
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.subscribe();
    }, delayMs);
  }
}
