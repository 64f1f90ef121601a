/**
 * The cap on a server's connections. grpc-js has no such option, so a server listens on its own
 * `net.Server` and hands each admitted socket to grpc-js (`Server.createConnectionInjector`).
 *
 * A cap alone would let anyone hold a server's slots with idle sockets and lock everyone else
 * out, so at the cap a new connection takes the place of the connection idle the longest, one
 * with no call in flight; only when every connection has a call in flight is the newcomer refused.
 * A connection that serves a stream (a framework's SUBSCRIBE, an agent's stream) is never
 * evicted, and a fresh client, which makes its first call within a round trip, is the last one
 * evicted. Idle connections also end on their own after `maxConnectionIdleMs` (grpc-js).
 *
 * Calls are counted per connection by a server interceptor that finds the connection by the
 * call's peer address, and {@link ConnectionCap.disconnect} drops the connection of a peer whose
 * stream must end at once (a subscriber that stopped reading: a status would wait behind what it
 * does not read).
 */
import type { Server as NetServer, Socket } from 'node:net';
import { ServerInterceptingCall, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from './logger.js';

/** A connection as the cap sees it. */
export interface TrackedConnection {
  /** `address:port` of the peer, as grpc-js reports a call's peer. */
  readonly peer: string;
  /** Calls in flight on it. */
  activeCalls: number;
  /** When it was accepted, or a call on it last started or ended (ms). */
  lastActiveAt: number;
}

/** What to do with a new connection. */
export type Admission =
  | { readonly kind: 'accept' }
  | { readonly kind: 'evict'; readonly victim: TrackedConnection }
  | { readonly kind: 'refuse' };

/**
 * Decides on a new connection while `open` connections are held and `full` says whether a cap
 * is reached: accept below the caps; at a cap, evict the connection idle the longest (no call in
 * flight), else refuse.
 */
export function admitConnection(open: Iterable<TrackedConnection>, full: boolean): Admission {
  if (!full) return { kind: 'accept' };
  let victim: TrackedConnection | undefined;
  for (const connection of open) {
    if (connection.activeCalls > 0) continue;
    if (victim === undefined || connection.lastActiveAt < victim.lastActiveAt) victim = connection;
  }
  return victim === undefined ? { kind: 'refuse' } : { kind: 'evict', victim };
}

/** The peer key of a socket or of a call's connection info. */
export function peerKey(address: string | undefined, port: number | undefined): string {
  return `${address ?? '?'}:${port ?? 0}`;
}

/** Connections held by every server of this process, against the process's fd budget. */
let processOpen = 0;

/** Refusals and evictions are logged at most this often, with counts, so a flood cannot flood the log. */
const REPORT_EVERY_MS = 10_000;

/** Holds one server's connections under its cap. */
export class ConnectionCap {
  private readonly open = new Map<string, { connection: TrackedConnection; socket: Socket }>();
  private evicted = 0;
  private refused = 0;
  private lastReport = 0;

  /**
   * @param what the server's name in log lines
   * @param maxConnections this server's cap
   * @param processBudget what all servers of the process may hold together
   */
  constructor(
    private readonly what: string,
    private readonly maxConnections: number,
    private readonly processBudget: number,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Connections held now. */
  get size(): number {
    return this.open.size;
  }

  /** Takes `net`'s connections: each is admitted (maybe evicting an idle one) or destroyed, then passed to `serve`. */
  listen(net: NetServer, serve: (socket: Socket) => void): void {
    net.on('connection', (socket: Socket) => {
      if (this.admit(socket)) serve(socket);
    });
  }

  /** Admits `socket` or destroys it; true when admitted. */
  admit(socket: Socket): boolean {
    const full = this.open.size >= this.maxConnections || processOpen >= this.processBudget;
    const admission = admitConnection(this.connections(), full);
    if (admission.kind === 'refuse') {
      this.refused += 1;
      this.report();
      socket.destroy();
      return false;
    }
    if (admission.kind === 'evict') {
      this.evicted += 1;
      this.report();
      this.drop(admission.victim.peer);
    }
    const peer = peerKey(socket.remoteAddress, socket.remotePort);
    const connection: TrackedConnection = { peer, activeCalls: 0, lastActiveAt: this.now() };
    this.open.set(peer, { connection, socket });
    processOpen += 1;
    socket.once('close', () => {
      if (this.open.get(peer)?.socket === socket) this.forget(peer);
    });
    // A reset peer surfaces here as well as in grpc-js; nothing to do but let the socket close.
    socket.on('error', () => undefined);
    return true;
  }

  /** Drops the connection of `peer` (`address:port`); true when there was one. */
  disconnect(peer: string): boolean {
    if (!this.open.has(peer)) return false;
    this.drop(peer);
    return true;
  }

  /** The interceptor that counts each connection's calls in flight. */
  interceptor(): ServerInterceptor {
    return (_method, call) => {
      const info = call.getConnectionInfo();
      const connection = this.open.get(peerKey(info.remoteAddress, info.remotePort))?.connection;
      if (!connection) return new ServerInterceptingCall(call);
      connection.activeCalls += 1;
      connection.lastActiveAt = this.now();
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        connection.activeCalls = Math.max(0, connection.activeCalls - 1);
        connection.lastActiveAt = this.now();
      };
      return new ServerInterceptingCall(call, {
        start: (next) => {
          next({ onCancel: end });
        },
        sendStatus: (status, next) => {
          end();
          next(status);
        },
      });
    };
  }

  private *connections(): Iterable<TrackedConnection> {
    for (const entry of this.open.values()) yield entry.connection;
  }

  private drop(peer: string): void {
    const entry = this.open.get(peer);
    if (!entry) return;
    this.forget(peer);
    entry.socket.destroy();
  }

  private forget(peer: string): void {
    if (this.open.delete(peer)) processOpen -= 1;
  }

  private report(): void {
    const now = this.now();
    if (now - this.lastReport < REPORT_EVERY_MS) return;
    this.lastReport = now;
    this.log?.warn(
      {
        server: this.what,
        open: this.open.size,
        cap: this.maxConnections,
        evicted: this.evicted,
        refused: this.refused,
      },
      `${this.what} is at its connection cap; idle connections are evicted, the rest refused`,
    );
    this.evicted = 0;
    this.refused = 0;
  }
}
