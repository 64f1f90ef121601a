/**
 * The limits every Galaxy gRPC server applies (docs/security.md, "Nothing grows without bound"):
 * how large a message may be, how many calls share a connection, how long a silent or idle
 * connection lives, and how many connections a server holds. `core/grpc-server.ts` applies them;
 * this module only decides the numbers.
 */
import { readFileSync } from 'node:fs';
import type { ChannelOptions } from '@grpc/grpc-js';
import { GalaxyError } from './errors.js';

/** The largest message a server receives or sends: gRPC's usual 4 MiB (a 1 MiB job spec fits with room). */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** File descriptors kept for what a daemon opens besides its servers' connections (files, peers, children). */
const FD_RESERVE = 256;

/** A server never holds more connections than this by default, whatever the fd limit. */
const MAX_CONNECTIONS_CEILING = 4096;

/** A server's limits. */
export interface ServerLimits {
  /** Largest message received or sent, in bytes; a larger one ends its call with RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes: number;
  /** Calls (HTTP/2 streams) at once on one connection; a client queues the rest. */
  readonly maxConcurrentStreams: number;
  /** The server pings a connection after this long without traffic… */
  readonly keepaliveTimeMs: number;
  /** …and drops it when the ping is not answered within this. */
  readonly keepaliveTimeoutMs: number;
  /** A connection with no call for this long is closed (clients reconnect on their next call). */
  readonly maxConnectionIdleMs: number;
  /**
   * Connections held at once. At the cap a new connection takes the place of the one idle the
   * longest (no call in flight), or is refused when every connection has a call in flight
   * (`core/connection-cap.ts`).
   */
  readonly maxConnections: number;
}

/** The soft limit of open files of this process (Linux), or undefined where it cannot be read. */
export function fdSoftLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0];
    if (soft === undefined) return undefined;
    if (soft === 'unlimited') return Number.MAX_SAFE_INTEGER;
    const n = Number(soft);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The default connection cap for a process whose fd limit is `fdLimit`: what the limit leaves
 * after a reserve for the daemon's own files, at most 4096 and at least 64.
 */
export function defaultMaxConnections(fdLimit: number | undefined = fdSoftLimit()): number {
  if (fdLimit === undefined) return MAX_CONNECTIONS_CEILING;
  return Math.max(64, Math.min(MAX_CONNECTIONS_CEILING, fdLimit - FD_RESERVE));
}

/**
 * How many connections all servers of this process may hold together (so that several servers in
 * one process, as in `galaxy up`, never run it out of file descriptors).
 */
export function processConnectionBudget(fdLimit: number | undefined = fdSoftLimit()): number {
  if (fdLimit === undefined) return Number.MAX_SAFE_INTEGER;
  return Math.max(64, fdLimit - FD_RESERVE / 2);
}

/** The defaults, with the connection cap derived from this process's fd limit. */
export function defaultServerLimits(): ServerLimits {
  return {
    maxMessageBytes: MAX_MESSAGE_BYTES,
    maxConcurrentStreams: 128,
    keepaliveTimeMs: 30_000,
    keepaliveTimeoutMs: 10_000,
    maxConnectionIdleMs: 5 * 60_000,
    maxConnections: defaultMaxConnections(),
  };
}

/** The defaults with `overrides` applied; throws GALAXY_E_INVALID_ARGUMENT on a value that is not a positive whole number. */
export function serverLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...defaultServerLimits(), ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value <= 0)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `server limit ${name} must be a positive whole number, got ${value}`,
      );
  }
  return limits;
}

/** The grpc-js server options that carry `limits` (the connection cap is applied by the listener). */
export function grpcServerOptions(limits: ServerLimits): ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.maxMessageBytes,
    'grpc.max_send_message_length': limits.maxMessageBytes,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc.keepalive_time_ms': limits.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': limits.keepaliveTimeoutMs,
    'grpc.max_connection_idle_ms': limits.maxConnectionIdleMs,
  };
}

/**
 * How much a master may send on a client's connection before the client's acknowledgement
 * (HTTP/2 flow control). grpc-js's default is 64 KiB, and each refill costs a turn of the master's
 * event loop: a master busy with a 12,397-agent cell (tens of ms per turn) sent its frameworks'
 * offers and status updates at a few hundred KB/s, fell tens of MB behind, and dropped the
 * framework as "not reading" (issue 16). Measured here against a master busy 5 ms per turn, 20 MB
 * in 400 KB events: 2.6 s with the default window, 0.29 s with this one. It bounds what the peer
 * may queue in this process, not what is allocated.
 */
export const CLIENT_RECEIVE_WINDOW_BYTES = 16 * 1024 * 1024;

/** The channel option that gives a client's connection {@link CLIENT_RECEIVE_WINDOW_BYTES}. */
export function receiveWindowOptions(): ChannelOptions {
  return { 'grpc-node.flow_control_window': CLIENT_RECEIVE_WINDOW_BYTES };
}
