/**
 * The server side of a watch RPC (`galaxy tasks --watch`, `galaxy job show --watch`): the current
 * state at once, then again after each change, coalesced (at most one snapshot per interval) and
 * only when it differs from the last one sent. A caller that does not read holds one snapshot at
 * most: the next is made only once the last was taken.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { toGrpcStatus } from './grpc-errors.js';

/** Listeners of "something changed", for hooks that cannot be untapped. */
export class ChangeListeners {
  private readonly listeners = new Set<() => void>();

  /** Adds `listener`; returns how to remove it. */
  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells every listener. */
  changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/** What a watch serves. */
export interface WatchSource<T> {
  /** The state as the caller may see it now; a throw ends the watch with that error. */
  snapshot(): Promise<T> | T;
  /** Bytes two snapshots are compared by (the message's encoding, say). */
  encode(value: T): Uint8Array;
  /** Where changes are heard of. */
  readonly changes: ChangeListeners;
  /** The shortest time between two snapshots (default 250 ms). */
  readonly intervalMs?: number;
}

/** Serves `source` on `call` until the caller cancels or a snapshot fails. */
export function serveWatch<T>(call: ServerWritableStream<unknown, T>, source: WatchSource<T>): void {
  let last: Buffer | undefined;
  let timer: NodeJS.Timeout | undefined;
  let writing = false;
  let dirty = false;
  let done = false;
  /** Read after an await: the caller may have gone meanwhile. */
  const ended = (): boolean => done;
  const stop = (): void => {
    done = true;
    remove();
    if (timer) clearTimeout(timer);
  };
  const send = async (): Promise<void> => {
    timer = undefined;
    if (ended()) return;
    if (writing) {
      dirty = true;
      return;
    }
    try {
      const value = await source.snapshot();
      if (ended()) return;
      const bytes = Buffer.from(source.encode(value));
      if (last?.equals(bytes)) return;
      last = bytes;
      writing = true;
      call.write(value, () => {
        writing = false;
        if (dirty) {
          dirty = false;
          schedule();
        }
      });
    } catch (error) {
      stop();
      const status = toGrpcStatus(error);
      call.emit('error', Object.assign(new Error(status.details), status));
    }
  };
  const schedule = (): void => {
    if (ended() || timer) return;
    timer = setTimeout(() => void send(), source.intervalMs ?? 250);
  };
  const remove = source.changes.add(schedule);
  call.on('cancelled', stop);
  call.on('close', stop);
  void send();
}
