/**
 * The master's server streams (a framework's SUBSCRIBE, an agent's Connect), bounded: a peer that
 * stops reading cannot make the master buffer for it without end. Once more than
 * `MasterLimits.streamQueueBytes` wait for the peer, the master treats it as gone (a framework's
 * offers are rescinded and its failover clock starts; an agent's offers are rescinded) and drops
 * its connection. A status cannot be sent instead: it would wait behind what the peer does not read.
 */
import type { MasterContext } from '../context.js';
import { Connection } from '../records.js';

/** What the master's stream handlers need to bound their streams. */
export interface StreamBounds {
  readonly ctx: MasterContext;
  /** Drops the connection of a call's peer (`call.getPeer()`). */
  disconnect(peer: string): boolean;
}

/** A server stream as the master writes it. */
export interface PeerStream<T> {
  write(message: T, done?: () => void): unknown;
  end(): unknown;
  getPeer(): string;
}

/**
 * A {@link Connection} over `stream` that gives up on a peer that does not read: `gone` runs (the
 * controller forgets the peer's stream), then the peer's connection is dropped.
 *
 * @param what who the peer is, for the log line (`framework fw-…`, `agent agent-…`)
 * @param size the encoded size of a message
 */
export function boundedConnection<T>(
  stream: PeerStream<T>,
  size: (message: T) => number,
  bounds: StreamBounds,
  what: () => string,
  gone: () => void,
): Connection<T> {
  const limit = bounds.ctx.limits.streamQueueBytes;
  return new Connection(stream, {
    measure: size,
    maxQueuedBytes: limit,
    overflow: (queued) => {
      const peer = stream.getPeer();
      bounds.ctx.log.warn(
        { peer, queuedBytes: queued, limit },
        `${what()} stopped reading its stream (more than ${limit} bytes unread: limit streamQueueBytes); disconnecting it`,
      );
      // Nothing more is written to it already; the rest waits for the current step of the master
      // (a send happens in the middle of allocating, rescinding, removing) to finish.
      setImmediate(() => {
        gone();
        bounds.disconnect(peer);
      });
    },
  });
}
