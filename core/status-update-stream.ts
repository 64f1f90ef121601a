/**
 * At-least-once delivery of status updates, in order per task, until acknowledged — the
 * mechanism of Mesos' status update manager. The agent uses it towards the master, and the
 * master uses it for the updates it generates itself (a lost agent's tasks, for example).
 */
import type { TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { Backoff } from './backoff.js';
import { newUuid } from './ids.js';

/** Options of a {@link StatusUpdateStream}. */
export interface StatusUpdateStreamOptions {
  /** Sends one update; returns false when there is no connection (it will be retried). */
  send: (status: TaskStatus) => boolean;
  /** First retry delay (ms). Default 1000. */
  initialRetryMs?: number;
  /** Retry delay ceiling (ms). Default 10000. */
  maxRetryMs?: number;
}

interface TaskQueue {
  readonly updates: TaskStatus[];
  readonly backoff: Backoff;
  timer?: NodeJS.Timeout;
}

/** Key of a task's queue: framework and task id. */
function keyOf(frameworkId: string, taskId: string): string {
  return `${frameworkId}\u0000${taskId}`;
}

/** Queues of unacknowledged status updates, one queue per task; only each queue's head is in flight. */
export class StatusUpdateStream {
  private readonly queues = new Map<string, TaskQueue>();
  private readonly initialMs: number;
  private readonly maxMs: number;
  private stopped = false;

  constructor(private readonly options: StatusUpdateStreamOptions) {
    this.initialMs = options.initialRetryMs ?? 1000;
    this.maxMs = options.maxRetryMs ?? 10_000;
  }

  /** Queues an update (a uuid is assigned when it has none) and sends it if it is the head. */
  enqueue(status: TaskStatus): TaskStatus {
    const update = status.uuid ? status : { ...status, uuid: newUuid() };
    const key = keyOf(update.frameworkId, update.taskId);
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { updates: [], backoff: new Backoff(this.initialMs, this.maxMs) };
      this.queues.set(key, queue);
    }
    queue.updates.push(update);
    if (queue.updates.length === 1) this.transmit(queue);
    return update;
  }

  /**
   * Handles an acknowledgement. Returns true when it matched the head of the task's queue;
   * the next update of that task, if any, is sent at once.
   */
  acknowledge(frameworkId: string, taskId: string, uuid: string): boolean {
    const key = keyOf(frameworkId, taskId);
    const queue = this.queues.get(key);
    if (queue?.updates[0]?.uuid !== uuid) return false;
    queue.updates.shift();
    clearTimeout(queue.timer);
    queue.backoff.reset();
    if (queue.updates.length === 0) {
      this.queues.delete(key);
    } else {
      this.transmit(queue);
    }
    return true;
  }

  /** Resends every head now, e.g. after a reconnect. */
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

  private transmit(queue: TaskQueue): void {
    if (this.stopped) return;
    const head = queue.updates[0];
    if (!head) return;
    this.options.send(head);
    queue.timer = setTimeout(() => {
      this.transmit(queue);
    }, queue.backoff.next());
    queue.timer.unref();
  }
}
