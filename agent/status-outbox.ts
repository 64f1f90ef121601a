/**
 * The agent's status updates on their way to the master, coalesced: an update goes out at the end
 * of the current turn of the event loop, together with every other update of that turn; while a
 * message is still being written to the master's stream, the updates that arrive meanwhile wait
 * and leave together as the next message. An idle agent's update waits for nothing (one turn),
 * and a busy one writes one message per write instead of one per update (a burst of batch tasks
 * is three updates each: issue 14).
 *
 * Delivery stays the {@link StatusUpdateStream}'s: it hands each update here (and again on every
 * retry) and keeps it until acknowledged. What is here is only a write not yet made: an update
 * dropped with the stream (no connection, or {@link StatusOutbox.reset} on a new registration)
 * is resent by the update stream's retries or its flush. Order is kept: updates leave in the
 * order they came, and a master handles a message's updates in order.
 */
import type { AgentMessage } from '../proto/gen/galaxy/v1/agent.js';
import type { TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { statusMessages } from '../core/status-batch.js';

/** Where a {@link StatusOutbox} writes. */
export interface StatusOutboxOptions {
  /**
   * Writes one message to the master; `written` is called once the transport took it (gRPC's
   * write callback). Returns false when there is no registered stream (nothing was written).
   */
  write(message: AgentMessage, written: () => void): boolean;
  /** True while registered with the master (what {@link StatusOutbox.send} answers). */
  connected(): boolean;
  /** Runs `flush` after the current turn of the event loop (default `setImmediate`; tests step it). */
  defer?: (flush: () => void) => void;
  /** Most updates per message (default: the most a master takes, MAX_STATUS_UPDATES_PER_MESSAGE of core/status-batch.ts). */
  maxPerMessage?: number;
}

/** Coalesces status updates into as few messages as the stream's pace allows. */
export class StatusOutbox {
  /** Messages written to the master (metrics: with {@link updates}, the updates per message). */
  messages = 0;
  /** Status updates written to the master, resends included. */
  updates = 0;
  /** Updates to write, by uuid, in the order they are to leave. */
  private readonly pending = new Map<string, TaskStatus>();
  /** Messages written and not yet taken by the transport, of the current stream. */
  private writing = 0;
  private scheduled = false;
  /** Bumped by {@link reset}: a write callback of an older stream counts for nothing. */
  private generation = 0;
  private readonly defer: (flush: () => void) => void;

  constructor(private readonly options: StatusOutboxOptions) {
    this.defer = options.defer ?? ((flush) => setImmediate(flush));
  }

  /** Queues an update for the next message; returns whether the agent is registered. */
  send(status: TaskStatus): boolean {
    // A resend of an update still queued moves it to the end instead of adding a copy (a write
    // stuck behind flow control would otherwise gather one copy per retry), so that a resend
    // round (a task's unacknowledged updates, oldest first) leaves the task's newest state last.
    this.pending.delete(status.uuid);
    this.pending.set(status.uuid, status);
    this.schedule();
    return this.options.connected();
  }

  /**
   * Forgets what is queued and what is being written: a new stream starts (a registration), on
   * which the update stream resends every unacknowledged update in order.
   */
  reset(): void {
    this.pending.clear();
    this.writing = 0;
    this.generation += 1;
  }

  /** Updates queued and not yet written. */
  get queued(): number {
    return this.pending.size;
  }

  private schedule(): void {
    if (this.scheduled || this.writing > 0) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Writes everything queued, unless a message is still being written (its callback flushes). */
  private flush(): void {
    if (this.writing > 0 || this.pending.size === 0) return;
    const statuses = [...this.pending.values()];
    this.pending.clear();
    const generation = this.generation;
    for (const message of statusMessages(statuses, this.options.maxPerMessage)) {
      const written = (): void => {
        if (generation !== this.generation) return;
        this.writing -= 1;
        if (this.writing === 0 && this.pending.size > 0) this.schedule();
      };
      this.writing += 1;
      if (!this.options.write(message, written)) {
        // No stream: these are resent by the update stream once the agent registers again.
        this.writing -= 1;
        return;
      }
      this.messages += 1;
      this.updates += message.message?.$case === 'statusUpdates' ? message.message.statusUpdates.statuses.length : 1;
    }
  }
}
