/**
 * One ZooKeeper session, through the `zookeeper` npm client (the official C client): connecting,
 * typed calls with a deadline and coded errors, and the rule that decides when the session is
 * over for Galaxy.
 *
 * The session is over — irrevocably, `ended` aborts — when it is closed, when the ensemble expires
 * it, or when the client is cut off from the ensemble and two thirds of the session timeout have
 * passed since the ensemble last certainly heard from it ("last contact": the send time of the
 * latest request a server answered; a heartbeat every sixth of the timeout keeps it recent).
 * The last rule is what keeps two leaders from acting: the ensemble expires a session no earlier
 * than one full timeout after it last heard the client, and only then can another candidate
 * lead, so a holder that gives up at two thirds stops a third of a timeout before anyone else
 * can start. A server switch (one server of three stopping) takes far less and changes nothing.
 * A session cut off that long is dropped at once, with whatever requests the client still queued
 * for it: a deposed leader's write must not reach the ensemble after quorum returns. Its ephemeral
 * keys (and election candidacies) stay until the ensemble expires it, one timeout later. */
import ZooKeeper from 'zookeeper';
import { GalaxyError, type ErrorCode } from '../errors.js';
import type { ZkAcl } from './zookeeper-secret.js';

/** How long a call waits before trying again after a connection loss. */
const RECONNECT_POLL_MS = 50;

/** What Galaxy uses of a znode's stat. */
export interface ZkStat {
  readonly version: number;
  readonly mzxid: number;
  readonly numChildren: number;
  readonly dataLength: number;
  /** The owning session's id (hex) for an ephemeral znode, else `0`. */
  readonly ephemeralOwner: string;
  /** How many times the znode's ACL was set (0: as created). */
  readonly aversion: number;
}

/** A one-shot ZooKeeper watcher: event type, session state, path. */
export type ZkWatcher = (type: number, state: number, path: string) => void;

/** The promise API of the npm client, as far as Galaxy uses it. */
export interface ZkClient {
  create(path: string, data: Buffer, flags: number): Promise<string>;
  exists(path: string, watch: boolean): Promise<ZkStat>;
  get(path: string, watch: boolean): Promise<[ZkStat, Buffer | null]>;
  w_get(path: string, watcher: ZkWatcher): Promise<[ZkStat, Buffer | null]>;
  w_exists(path: string, watcher: ZkWatcher): Promise<ZkStat>;
  get_children(path: string, watch: boolean): Promise<string[]>;
  w_get_children(path: string, watcher: ZkWatcher): Promise<string[]>;
  set(path: string, data: Buffer, version: number): Promise<ZkStat>;
  delete_(path: string, version: number): Promise<void>;
  /** Sets the ACL if it is at `version` (`-1`: whatever it is). */
  set_acl(path: string, version: number, acl: readonly ZkAcl[]): Promise<unknown>;
}

interface NativeClient extends ZkClient {
  readonly client_id: string;
  readonly timeout: number;
  init(config: object): void;
  close(): void;
  add_auth(scheme: string, auth: string, callback: (rc: number, error: string) => void): void;
  on(event: 'connect' | 'connecting' | 'close', listener: () => void): void;
}

/** ZooKeeper's result codes that Galaxy tells apart. */
export const ZK = {
  CONNECTIONLOSS: -4,
  NONODE: -101,
  NOAUTH: -102,
  BADVERSION: -103,
  NOCHILDRENFOREPHEMERALS: -108,
  NODEEXISTS: -110,
  NOTEMPTY: -111,
  PERSISTENT: 0,
  EPHEMERAL: 1,
} as const;

/** A failed ZooKeeper call: the coded error, with ZooKeeper's result code kept as `rc`. */
export class ZkCallError extends GalaxyError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly rc: number | undefined,
  ) {
    super(code, message);
  }
}

/** True when `error` is a failed call with ZooKeeper result code `rc`. */
export function isZk(error: unknown, rc: number): boolean {
  return error instanceof ZkCallError && error.rc === rc;
}

const CODES = new Map<number, ErrorCode>([
  [ZK.NONODE, 'GALAXY_E_COORD_NO_NODE'],
  [ZK.NOAUTH, 'GALAXY_E_COORD_DENIED'],
  [ZK.BADVERSION, 'GALAXY_E_COORD_CONFLICT'],
  [ZK.NOTEMPTY, 'GALAXY_E_COORD_CONFLICT'],
  [ZK.NODEEXISTS, 'GALAXY_E_COORD_EXISTS'],
  [ZK.NOCHILDRENFOREPHEMERALS, 'GALAXY_E_INVALID_ARGUMENT'],
]);

/** The result code in an error of the npm client (`"-101 no node"` or `"... result: ZNONODE -101"`). */
function resultCode(error: unknown): number | undefined {
  const text = error instanceof Error ? error.message : String(error);
  const match = /^(-\d+) /.exec(text) ?? / (-\d+)"?$/.exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

const HOST_PORT = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;

/** Throws `GALAXY_E_INVALID_ARGUMENT` unless `connectString` is `host:port[,host:port…]`. */
export function checkConnectString(connectString: string): void {
  const bad = connectString.split(',').find((part) => {
    const port = Number(HOST_PORT.exec(part)?.[1] ?? 0);
    return port < 1 || port > 65535;
  });
  if (bad !== undefined) {
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `ZooKeeper servers "${connectString.slice(0, 200)}" are not host:port[,host:port…] ("${bad.slice(0, 60)}" is not host:port with a port from 1 to 65535)`,
    );
  }
}

/** Options of {@link ZkSession.connect}. */
export interface ZkSessionOptions {
  /** The session timeout asked of the ensemble (it may clamp it). Default 6000 ms. */
  readonly sessionTimeoutMs?: number;
  /** How long a call may take before it fails with `GALAXY_E_COORD_UNAVAILABLE`. Default: the session timeout. */
  readonly callTimeoutMs?: number;
  /**
   * A `digest` credential (`user:password`) the session adds before its first call; the client
   * adds it again by itself after every reconnection.
   */
  readonly credential?: string;
  /**
   * Whether the session is over once it has been cut off for two thirds of its timeout (the rule
   * of the module comment; default true). A session that holds no ephemeral key and leads nothing
   * (a master's data session: its candidacy has a session of its own) can do without: it is over
   * only when closed or expired, and a client back within the timeout goes on with it.
   */
  readonly endsWhenCutOff?: boolean;
}

/** One session; see the module comment for when it ends. */
export class ZkSession {
  private readonly ending = new AbortController();
  private suspendTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private handleClosed = false;
  /** When the ensemble last certainly heard from this session (see the module comment). */
  private lastContact = Date.now();
  /** When the client last lost its server, or 0 while connected. */
  private cutAt = 0;
  /**
   * The calls in flight, failed at once when the session ends. A set, not one abort listener per
   * call: an AbortSignal's listener list is walked on every add, so thousands of calls in flight
   * (a master reading a cell's agent credentials) cost quadratic time (issue 16).
   */
  private readonly inFlight = new Set<(reason: Error) => void>();

  private constructor(
    private readonly client: NativeClient,
    private readonly description: string,
    private readonly callTimeoutMs: number,
    private readonly endsWhenCutOff: boolean,
  ) {}

  /** Aborts (with a `GALAXY_E_COORD_UNAVAILABLE` reason) when the session is over. */
  get ended(): AbortSignal {
    return this.ending.signal;
  }

  /** The session id (hex), as znodes' `ephemeralOwner` names it. */
  get id(): string {
    return this.client.client_id;
  }

  /** The session timeout the ensemble granted. */
  get timeoutMs(): number {
    return this.client.timeout;
  }

  /** How long after the last contact a session cut off from the ensemble is over. */
  get graceMs(): number {
    return Math.floor((this.timeoutMs * 2) / 3);
  }

  /** Connects to `connectString`; rejects with `GALAXY_E_COORD_UNAVAILABLE` if no server answers within the session timeout. */
  static async connect(connectString: string, description: string, options: ZkSessionOptions = {}): Promise<ZkSession> {
    const timeout = options.sessionTimeoutMs ?? 6000;
    const client = new ZooKeeper({
      connect: connectString,
      timeout,
      debug_level: 0,
      host_order_deterministic: false,
      // The npm client closes the handle (as if expired) after 10 socket wake-ups without data,
      // which happens while it cycles through stopped servers; the session rule decides instead.
      response_counter_limit: 2 ** 30,
    }) as unknown as NativeClient;
    const session = new ZkSession(
      client,
      description,
      options.callTimeoutMs ?? timeout,
      options.endsWhenCutOff ?? true,
    );
    const connected = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new GalaxyError(
            'GALAXY_E_COORD_UNAVAILABLE',
            `${description}: no ZooKeeper server answered within ${timeout} ms`,
          ),
        );
      }, timeout);
      client.on('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      session.ending.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(session.ending.signal.reason as Error);
      });
    });
    session.listen();
    try {
      client.init({});
      await connected;
      if (options.credential !== undefined) await addAuth(client, options.credential, description);
    } catch (error) {
      session.close();
      if (error instanceof GalaxyError) throw error;
      throw new GalaxyError('GALAXY_E_COORD_UNAVAILABLE', `${description}: ${String(error)}`);
    }
    return session;
  }

  /**
   * Runs one call on the client. It fails with `GALAXY_E_COORD_UNAVAILABLE` once the session is
   * over or after the call timeout (a write may then have been applied or not), and with a
   * {@link ZkCallError} carrying ZooKeeper's result code otherwise.
   */
  async call<T>(what: string, fn: (client: ZkClient) => Promise<T>): Promise<T> {
    const signal = this.ending.signal;
    if (signal.aborted) throw signal.reason as Error;
    let timer: NodeJS.Timeout | undefined;
    let onEnd = (_reason: Error): void => undefined;
    const bounded = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(
          new GalaxyError(
            'GALAXY_E_COORD_UNAVAILABLE',
            `${this.description}: ${what} got no answer within ${this.callTimeoutMs} ms (no quorum?); a write may or may not have been applied`,
          ),
        );
      }, this.callTimeoutMs);
      onEnd = reject;
      this.inFlight.add(onEnd);
    });
    try {
      return await Promise.race([this.retrying(what, fn), bounded]);
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(onEnd);
    }
  }

  /** Closes the session: the ensemble removes its ephemeral znodes at once. */
  close(): void {
    this.end('it was closed');
    this.closeHandle();
  }

  /**
   * Runs `fn`, again after each connection loss while the session lasts (the caller's deadline
   * bounds it): the C client fails what is in flight when it switches servers, and a switch must
   * not be visible. Writes that may have been applied before the loss come back as a version
   * conflict or an existing or missing znode, which the coordinator's callers resolve.
   */
  private async retrying<T>(what: string, fn: (client: ZkClient) => Promise<T>): Promise<T> {
    for (;;) {
      const sent = Date.now();
      try {
        const result = await fn(this.client);
        this.contact(sent);
        return result;
      } catch (error) {
        const rc = resultCode(error);
        if (rc !== undefined && CODES.has(rc)) this.contact(sent);
        if (rc !== ZK.CONNECTIONLOSS || this.ending.signal.aborted) this.fail(what, error);
        await new Promise((r) => setTimeout(r, RECONNECT_POLL_MS));
      }
    }
  }

  /** Notes that a server answered a request sent at `sent`. */
  private contact(sent: number): void {
    this.lastContact = Math.max(this.lastContact, sent);
  }

  /** While connected and idle, asks a server something cheap so that the last contact stays recent. */
  private beat(): void {
    if (this.cutAt !== 0 || this.ending.signal.aborted) return;
    if (Date.now() - this.lastContact < this.timeoutMs / 6) return;
    void this.call('heartbeat', (c) => c.exists('/', false)).catch(() => undefined);
  }

  private fail(what: string, error: unknown): never {
    const rc = resultCode(error);
    const code = (rc === undefined ? undefined : CODES.get(rc)) ?? 'GALAXY_E_COORD_UNAVAILABLE';
    throw new ZkCallError(
      code,
      `${this.description}: ${what} failed: ${error instanceof Error ? error.message : String(error)}`,
      rc,
    );
  }

  private listen(): void {
    this.client.on('connect', () => {
      // The server touched the session after the client started reconnecting.
      if (this.cutAt !== 0) this.contact(this.cutAt);
      this.cutAt = 0;
      clearTimeout(this.suspendTimer);
      this.suspendTimer = undefined;
      this.heartbeat ??= setInterval(
        () => {
          this.beat();
        },
        Math.max(50, Math.floor(this.timeoutMs / 12)),
      ).unref();
    });
    this.client.on('connecting', () => {
      if (this.ending.signal.aborted || this.cutAt !== 0) return;
      this.cutAt = Date.now();
      if (!this.endsWhenCutOff) return;
      const left = this.lastContact + this.graceMs - Date.now();
      this.suspendTimer = setTimeout(
        () => {
          this.end(`it was cut off from ZooKeeper for ${Date.now() - this.lastContact} ms since its last contact`);
          // Keep trying to reach a server for a while, only to close the session there.
          setTimeout(() => {
            this.closeHandle();
          }, 2 * this.timeoutMs).unref();
        },
        Math.max(0, left),
      );
    });
    this.client.on('close', () => {
      this.handleClosed = true;
      this.end('ZooKeeper expired it');
    });
  }

  private end(why: string): void {
    clearTimeout(this.suspendTimer);
    clearInterval(this.heartbeat);
    this.suspendTimer = undefined;
    if (this.ending.signal.aborted) return;
    const reason = new GalaxyError(
      'GALAXY_E_COORD_UNAVAILABLE',
      `${this.description}: the session is over (${why}): open a new coordinator`,
    );
    this.ending.abort(reason);
    for (const fail of this.inFlight) fail(reason);
    this.inFlight.clear();
  }

  private closeHandle(): void {
    if (this.handleClosed) return;
    this.handleClosed = true;
    this.client.close();
  }
}

/** Adds the digest `credential` to the session; rejects when ZooKeeper refuses it. */
function addAuth(client: NativeClient, credential: string, description: string): Promise<void> {
  return new Promise((resolve, reject) => {
    client.add_auth('digest', credential, (rc, error) => {
      if (rc === 0) resolve();
      else
        reject(new GalaxyError('GALAXY_E_COORD_DENIED', `${description}: ZooKeeper refused the credential: ${error}`));
    });
  });
}
