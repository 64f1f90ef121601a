/**
 * The agent's connection to the master: one bidirectional gRPC stream, re-dialled with backoff
 * whenever it breaks, starting each time with a (re-)registration. A refusal of the agent's
 * identity (UNAUTHENTICATED, PERMISSION_DENIED) is final: retrying cannot help until an admin
 * acts, so the link stops and says why instead of knocking forever.
 */
import { receiveWindowOptions } from '../core/grpc-limits.js';
import { clientOptions } from '../core/auth/client.js';
import type { Channel, ChannelOptions, ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { Backoff } from '../core/backoff.js';
import { GalaxyError, parseGalaxyError, type ErrorCode } from '../core/errors.js';
import { fromGrpcError } from '../core/grpc-errors.js';
import { channelCredentials, type TlsFiles } from '../core/tls.js';
import { isCoordinatorUrl, LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import type { Logger } from '../core/logger.js';
import {
  AgentGatewayClient,
  type AgentMessage,
  type MasterMessage,
  type RegisterAgent,
} from '../proto/gen/galaxy/v1/agent.js';

/** What the link asks of its agent. */
export interface MasterLinkHandlers {
  /** The registration to send on each new stream. */
  registration(): RegisterAgent;
  /** Every message from the master. */
  message(message: MasterMessage): void;
  /** The master refused the agent's identity; the link has stopped. */
  refused?(error: GalaxyError): void;
}

/**
 * Where a link's calls travel. By default each link dials its own channel; a host of many agents
 * (the simulator, `sim/`) hands out channels it shares, as HTTP/2 multiplexes streams, and owns
 * them: a link then never closes its channel.
 */
export interface MasterLinkTransport {
  /** A channel to `address` for this link's next stream. */
  channel(address: string): Channel;
}

/**
 * The link's delays between attempts, ms. A master found through a coordinator is re-elected
 * within a session timeout: retried at least every second, an agent re-registers soon after,
 * instead of several seconds late; a fixed address is retried up to every 5 s.
 */
export function linkBackoffMs(master: string): { readonly initialMs: number; readonly maxMs: number } {
  return { initialMs: 200, maxMs: isCoordinatorUrl(master) ? 1000 : 5000 };
}

/**
 * Channel options that hold a channel's own reconnection to the link's schedule. grpc-js backs a
 * channel off on its own (1 s, then ×1.6 up to 120 s) after each refused connection, and fails
 * every call at once meanwhile: a failover's new leader, dialled while it was still loading, then
 * stayed out of reach for its agents for tens of seconds after it served (issue 16). The
 * frameworks' link does the same (`frameworks/sdk/master-link.ts`).
 */
export function reconnectChannelOptions(master: string): ChannelOptions {
  const { initialMs, maxMs } = linkBackoffMs(master);
  return {
    'grpc.initial_reconnect_backoff_ms': initialMs,
    'grpc.max_reconnect_backoff_ms': maxMs,
    ...receiveWindowOptions(),
  };
}

/** Refusals after which the link stops: the agent's token is unknown, revoked, or not its own. */
const IDENTITY_REFUSALS: ReadonlySet<ErrorCode> = new Set(['GALAXY_E_UNAUTHENTICATED', 'GALAXY_E_PERMISSION_DENIED']);

/** A self-healing stream to the master. */
export class MasterLink {
  private client: AgentGatewayClient | undefined;
  /** The address `client` dials. */
  private address = '';
  private readonly locator: LeaderLocator;
  private stream: ClientDuplexStream<AgentMessage, MasterMessage> | undefined;
  private registered = false;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private readonly backoff: Backoff;

  constructor(
    private readonly master: string,
    private readonly handlers: MasterLinkHandlers,
    private readonly log: Logger,
    /** What the agent registers with: its credential, a join token, or an admin's token; none for an open master. */
    private token?: string,
    /** TLS towards the master (its CA; this agent's certificate for mutual TLS). */
    private readonly tls?: TlsFiles,
    /** Shared channels instead of one of its own (see {@link MasterLinkTransport}). */
    private readonly transport?: MasterLinkTransport,
  ) {
    this.locator = new LeaderLocator(master, MASTER_GROUP);
    const { initialMs, maxMs } = linkBackoffMs(master);
    this.backoff = new Backoff(initialMs, maxMs);
  }

  /** Dials the master. */
  start(): void {
    this.stopped = false;
    this.dial();
  }

  /** True while registered on a live stream. */
  get connected(): boolean {
    return this.registered;
  }

  /**
   * Sends a message if registered; returns false otherwise (callers retry). `written` is called
   * once the stream took the message (gRPC's write callback; never, if the stream breaks first).
   */
  send(message: AgentMessage, written?: () => void): boolean {
    if (!this.registered || !this.stream) return false;
    this.stream.write(message, written);
    return true;
  }

  /** Registers with `token` from the next stream on (the credential a join token was exchanged for). */
  useToken(token: string): void {
    this.token = token;
  }

  /** Closes the stream for good. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.registered = false;
    this.stream?.cancel();
    this.closeClient();
  }

  /** Closes this link's own channel (a shared one belongs to its transport). */
  private closeClient(): void {
    if (!this.transport) this.client?.close();
    this.client = undefined;
  }

  /** Finds the leading master (through the coordinator when `master` names one), then connects. */
  private dial(): void {
    if (this.stopped) return;
    this.locator.locate().then(
      (address) => {
        this.connect(address);
      },
      (error: unknown) => {
        if (this.stopped) return;
        const delay = this.backoff.next();
        this.log.warn({ master: this.master, err: String(error), retryMs: delay }, 'no master to connect to');
        this.retry = setTimeout(() => {
          this.dial();
        }, delay);
      },
    );
  }

  private connect(address: string): void {
    if (this.stopped) return;
    if (address !== this.address) {
      this.closeClient();
      this.address = address;
    }
    this.client ??= new AgentGatewayClient(
      address,
      channelCredentials(this.tls),
      clientOptions(
        () => this.token,
        this.transport ? { channelOverride: this.transport.channel(address) } : reconnectChannelOptions(this.master),
      ),
    );
    const stream = this.client.connect();
    this.stream = stream;
    let handled = false;
    const broken = (reason: string, error?: GalaxyError): void => {
      if (handled || this.stream !== stream) return;
      handled = true;
      this.registered = false;
      this.stream = undefined;
      stream.cancel();
      if (this.stopped) return;
      if (error && IDENTITY_REFUSALS.has(error.code)) {
        this.log.error({ master: this.address, code: error.code }, `the master refused this agent: ${error.detail}`);
        this.stop();
        this.handlers.refused?.(error);
        return;
      }
      const delay = this.backoff.next();
      this.log.warn({ master: this.address, reason, retryMs: delay }, 'lost the master; reconnecting');
      this.retry = setTimeout(() => {
        this.dial();
      }, delay);
    };
    stream.on('data', (message: MasterMessage) => {
      const body = message.message;
      if (body?.$case === 'registered') {
        this.registered = true;
        this.backoff.reset();
      }
      try {
        this.handlers.message(message);
      } catch (error) {
        // One bad message must not take the agent (and its tasks' supervision) down.
        this.log.error(
          { err: error instanceof Error ? error.message : String(error) },
          'failed to handle a master message',
        );
      }
      if (body?.$case === 'error') {
        // A refusal (e.g. GALAXY_E_AGENT_DUPLICATE while the master still holds our old stream):
        // drop this stream ourselves rather than trust the master to end it, and try again later.
        this.log.error({ code: body.error.code }, body.error.message);
        broken(
          `refused: ${body.error.code}`,
          parseGalaxyError(body.error.message) ?? new GalaxyError('GALAXY_E_INTERNAL', body.error.message),
        );
      }
    });
    stream.on('error', (error: ServiceError) => {
      broken(error.message, fromGrpcError(error, `the master at ${this.address}`));
    });
    stream.on('end', () => {
      broken('stream ended');
    });
    stream.on('close', () => {
      broken('stream closed');
    });
    stream.write({ message: { $case: 'register', register: this.handlers.registration() } });
  }
}
