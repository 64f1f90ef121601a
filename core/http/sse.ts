/**
 * Server-sent events (`text/event-stream`) on a fastify reply: the browser's and `curl -N`'s way
 * to follow a stream over plain HTTP. Streams are bounded per server: past {@link MAX_STREAMS}
 * open at once a new one is refused (GALAXY_E_LIMIT_EXCEEDED), so idle followers cannot hold a
 * daemon's sockets without bound.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { GalaxyError } from '../errors.js';

/** Streams one server holds open at most. */
export const MAX_STREAMS = 256;
/** A comment line every this many ms keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/** An open stream: send events on it until the client goes away. */
export interface EventStream {
  /** Sends one event whose data is `data` as JSON. */
  send(event: string, data: unknown): void;
  /** Resolves once what was sent left the process's buffers (or the stream ended): a producer's pace. */
  drained(): Promise<void>;
  /** Ends the stream from the server's side. */
  close(): void;
}

/** Counts a server's open streams. */
export class StreamBudget {
  private open = 0;

  constructor(private readonly max = MAX_STREAMS) {}

  /**
   * Opens `request`'s stream (throws GALAXY_E_LIMIT_EXCEEDED past the budget, before any byte is
   * sent) and calls `onClose` once it ends, either side.
   */
  start(request: FastifyRequest, reply: FastifyReply, onClose: () => void): EventStream {
    if (this.open >= this.max)
      throw new GalaxyError('GALAXY_E_LIMIT_EXCEEDED', `this server follows at most ${this.max} streams at once`);
    this.open++;
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store',
      'x-accel-buffering': 'no',
    });
    raw.write(': galaxy\n\n');
    let closed = false;
    const heartbeat = setInterval(() => raw.write(': keepalive\n\n'), HEARTBEAT_MS);
    const end = (): void => {
      if (closed) return;
      closed = true;
      this.open--;
      clearInterval(heartbeat);
      onClose();
      raw.end();
    };
    request.raw.on('close', end);
    raw.on('error', end);
    return {
      send: (event, data) => {
        if (!closed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      drained: () =>
        closed || raw.writableLength < raw.writableHighWaterMark
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              const done = (): void => {
                raw.off('drain', done);
                raw.off('close', done);
                resolve();
              };
              raw.once('drain', done);
              raw.once('close', done);
            }),
      close: end,
    };
  }
}
