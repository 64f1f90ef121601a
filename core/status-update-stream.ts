/**
 * At-least-once delivery of status updates, in order per task, until acknowledged — the
 * mechanism of Mesos' status update manager. The agent uses it towards the master, and the
 * master uses it for the updates it generates itself (a lost agent's tasks, for example).
 */
import type { TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { Backoff } from './backoff.js';
import { newUuid } from './ids.js';
import { RoundTrip } from './round-trip.js';

/** Options of a {@link StatusUpdateStream}. */
export interface StatusUpdateStreamOptions {
  /** Sends one update; returns false when there is no connection (it will be retried). */
  send: (status: TaskStatus) => boolean;
  /**
   * Shortest first retry delay (ms). Default 1000. The first retry waits longer when
   * acknowledgements take longer: the round-trip estimate's timeout (./round-trip.ts).
   */
  initialRetryMs?: number;
  /** Retry delay ceiling (ms). Default 10000. */
  maxRetryMs?: number;
  /** Told how many updates a retry resends (metrics count them). */
  onRetry?: (updates: number) => void;
}

interface TaskQueue {
  readonly updates: TaskStatus[];
  readonly backoff: Backoff;
  timer?: NodeJS.Timeout;
  /** When each update sent once only was sent (uuid → ms); resent ones are not sampled. */
  readonly sentOnce: Map<string, number>;
  /** When the retry timer was armed (ms), and whether it is the first since an acknowledgement. */
  armedAt: number;
  firstWait: boolean;
}

/** Key of a task's queue: framework and task id. */
function keyOf(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

/**
 * Queues of unacknowledged status updates, one queue per task. Updates are pipelined: each is sent
 * as soon as it is queued, in order, without waiting for the previous one's acknowledgement (a
 * task that starts and ends at once would otherwise wait a round trip through the framework per
 * update before its end is known, and its resources with it). Unacknowledged updates are resent
 * in order until acknowledged; the receiver drops a non-terminal update of a task it already has
 * a terminal update for from the same source (a resend of an older one).
 */
export class StatusUpdateStream {
  private readonly queues = new Map<string, TaskQueue>();
  private readonly initialMs: number;
  private readonly maxMs: number;
  /** How long acknowledgements take: the first retry waits its timeout. */
  private readonly roundTrip: RoundTrip;
  private stopped = false;

  constructor(private readonly options: StatusUpdateStreamOptions) {
    this.initialMs = options.initialRetryMs ?? 1000;
    this.maxMs = options.maxRetryMs ?? 10_000;
    this.roundTrip = new RoundTrip(this.initialMs, this.maxMs);
  }

  /** The delay before an unacknowledged update's first resend now (ms, before jitter). */
  get retryDelayMs(): number {
    return this.roundTrip.timeoutMs();
  }

  /** Queues an update (a uuid is assigned when it has none) and sends it at once. */
  enqueue(status: TaskStatus): TaskStatus {
    const update = status.uuid ? status : { ...status, uuid: newUuid() };
    const key = keyOf(update.frameworkId, update.taskId);
    let queue = this.queues.get(key);
    if (!queue) {
      queue = {
        updates: [],
        backoff: new Backoff(() => this.roundTrip.timeoutMs(), this.maxMs),
        sentOnce: new Map(),
        armedAt: 0,
        firstWait: true,
      };
      this.queues.set(key, queue);
    }
    queue.updates.push(update);
    if (this.stopped) return update;
    if (this.options.send(update)) queue.sentOnce.set(update.uuid, performance.now());
    // Earlier updates in flight already have the retry timer running.
    if (queue.updates.length === 1) this.arm(queue);
    return update;
  }

  /**
   * Handles an acknowledgement. Returns true when it matched an unacknowledged update of the
   * task (it is dropped; the others are already in flight and keep being resent).
   */
  acknowledge(frameworkId: string, taskId: string, uuid: string): boolean {
    const key = keyOf(frameworkId, taskId);
    const queue = this.queues.get(key);
    const index = queue?.updates.findIndex((u) => u.uuid === uuid) ?? -1;
    if (!queue || index < 0) return false;
    const sentAt = queue.sentOnce.get(uuid);
    if (sentAt !== undefined) this.roundTrip.sample(performance.now() - sentAt);
    queue.sentOnce.delete(uuid);
    queue.updates.splice(index, 1);
    clearTimeout(queue.timer);
    queue.backoff.reset();
    queue.firstWait = true;
    if (queue.updates.length === 0) this.queues.delete(key);
    else this.arm(queue);
    return true;
  }

  /** Resends every unacknowledged update now, in order, e.g. after a reconnect. */
  flush(): void {
    for (const queue of this.queues.values()) {
      clearTimeout(queue.timer);
      queue.backoff.reset();
      this.transmit(queue);
    }
  }

  /** Every unacknowledged update, oldest first per task. */
  pending(): TaskStatus[] {
    return [...this.queues.values()].flatMap((q) => q.updates);
  }

  /** The newest unacknowledged update of a task, if any. */
  latest(frameworkId: string, taskId: string): TaskStatus | undefined {
    return this.queues.get(keyOf(frameworkId, taskId))?.updates.at(-1);
  }

  /** Drops the queue of one task (its updates are given up). */
  dropTask(frameworkId: string, taskId: string): void {
    const key = keyOf(frameworkId, taskId);
    clearTimeout(this.queues.get(key)?.timer);
    this.queues.delete(key);
  }

  /** Drops every queue of a framework (it was torn down). */
  dropFramework(frameworkId: string): void {
    for (const [key, queue] of this.queues) {
      if (key.startsWith(`${frameworkId}\u0000`)) {
        clearTimeout(queue.timer);
        this.queues.delete(key);
      }
    }
  }

  /** Stops all retries. */
  stop(): void {
    this.stopped = true;
    for (const queue of this.queues.values()) clearTimeout(queue.timer);
  }

  /** Sends the task's unacknowledged updates, in order, and arms the retry. */
  private transmit(queue: TaskQueue): void {
    if (this.stopped || queue.updates.length === 0) return;
    queue.sentOnce.clear(); // Karn's rule: an acknowledgement of a resent update is no sample
    for (const update of queue.updates) this.options.send(update);
    this.arm(queue);
  }

  /** Resends the queue after the next backoff delay unless it is acknowledged meanwhile. */
  private arm(queue: TaskQueue): void {
    clearTimeout(queue.timer);
    if (this.stopped) return;
    queue.armedAt = performance.now();
    this.wait(queue, queue.backoff.next());
  }

  private wait(queue: TaskQueue, delayMs: number): void {
    queue.timer = setTimeout(() => {
      // A first wait armed before the estimate grew (a burst's updates all leave before the first
      // acknowledgement is back) lasts as long as the estimate says now.
      const waited = performance.now() - queue.armedAt;
      const due = this.roundTrip.timeoutMs();
      if (queue.firstWait && waited < due) {
        this.wait(queue, due - waited);
        return;
      }
      queue.firstWait = false;
      // Everything sent now was sent before and not acknowledged: retries.
      this.options.onRetry?.(queue.updates.length);
      this.transmit(queue);
    }, delayMs);
    queue.timer.unref();
  }
}
