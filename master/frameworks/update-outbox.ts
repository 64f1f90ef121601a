/**
 * Status updates to frameworks, batched (issue 16): those due to one framework's stream in one
 * turn of the event loop leave as one UPDATES event (`scheduler.proto`), at most
 * {@link UPDATES_PER_EVENT} statuses and about {@link UPDATE_EVENT_BYTES} each, instead of one
 * UPDATE event each. Only a framework that subscribed with `batched_updates` gets them; any other
 * gets each update alone, as before.
 *
 * Nothing about delivery changes: every other event to the framework first sends the updates
 * queued before it, so the stream keeps the order in which the master sent things (and so the
 * order of each task's updates); an update lost with its stream is resent by its agent (or the
 * master's own retry) until the framework acknowledges it, as before.
 */
import type { TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { FrameworkConnection } from '../records.js';

/** Statuses one UPDATES event carries at most (a framework refuses more: `frameworks/sdk/updates.ts`). */
export const UPDATES_PER_EVENT = 1000;
/** About how many encoded bytes of statuses one UPDATES event carries at most (gRPC's default limit is 4 MiB). */
export const UPDATE_EVENT_BYTES = 1024 * 1024;

/**
 * An upper bound of a status's encoded size without encoding it: UTF-8 takes at most 3 bytes per
 * UTF-16 unit of a string, and the rest (tags, lengths, numbers) fits in 64 bytes.
 */
export function statusBytesBound(status: TaskStatus): number {
  const chars =
    status.taskId.length +
    status.message.length +
    status.reason.length +
    status.agentId.length +
    status.frameworkId.length +
    status.uuid.length;
  return 64 + 3 * chars;
}

/** How an {@link UpdateOutbox} bounds its events (tests pass smaller ones). */
export interface UpdateBatchBounds {
  readonly statuses: number;
  readonly bytes: number;
}

interface Batch {
  statuses: TaskStatus[];
  bytes: number;
}

/** The status updates waiting for the end of this turn, by framework stream. */
export class UpdateOutbox {
  /** Streams of frameworks that take UPDATES events. */
  private readonly batching = new WeakSet<FrameworkConnection>();
  private readonly pending = new Map<FrameworkConnection, Batch>();
  private scheduled = false;
  /** UPDATES events sent so far, and the statuses they carried (GetMasterStats). */
  events = 0;
  updates = 0;

  /**
   * @param schedule runs the flush once the current turn is over (tests pass their own)
   * @param bounds what one UPDATES event carries at most
   */
  constructor(
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
    private readonly bounds: UpdateBatchBounds = { statuses: UPDATES_PER_EVENT, bytes: UPDATE_EVENT_BYTES },
  ) {}

  /** The framework on `connection` subscribed with `batched_updates`. */
  acceptBatches(connection: FrameworkConnection): void {
    this.batching.add(connection);
  }

  /**
   * Sends `event` on `connection`: a status update of a framework that takes batches waits for the
   * end of the turn (or until its batch is full); anything else leaves now, after the updates
   * queued before it.
   */
  send(connection: FrameworkConnection, event: Event): void {
    const body = event.event;
    if (body?.$case === 'update' && body.update.status && this.batching.has(connection)) {
      this.queue(connection, body.update.status);
      return;
    }
    this.flushConnection(connection);
    connection.send(event);
  }

  /** Sends everything queued: one UPDATES event per stream and bounded batch. */
  flush(): void {
    this.scheduled = false;
    for (const connection of [...this.pending.keys()]) this.flushConnection(connection);
  }

  private queue(connection: FrameworkConnection, status: TaskStatus): void {
    const size = statusBytesBound(status);
    let batch = this.pending.get(connection);
    if (batch && (batch.statuses.length >= this.bounds.statuses || batch.bytes + size > this.bounds.bytes)) {
      this.flushConnection(connection);
      batch = undefined;
    }
    if (batch) {
      batch.statuses.push(status);
      batch.bytes += size;
    } else this.pending.set(connection, { statuses: [status], bytes: size });
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.flush();
    });
  }

  private flushConnection(connection: FrameworkConnection): void {
    const batch = this.pending.get(connection);
    if (!batch) return;
    this.pending.delete(connection);
    this.events += 1;
    this.updates += batch.statuses.length;
    const [only] = batch.statuses;
    if (batch.statuses.length === 1 && only) connection.send({ event: { $case: 'update', update: { status: only } } });
    else connection.send({ event: { $case: 'updates', updates: { statuses: batch.statuses } } });
  }
}
