/**
 * When the agent writes its task checkpoints (./checkpoint.ts holds how): once a task runs, a few
 * writes at a time, and not at all for a task that ended before its turn — there is nothing left
 * to re-attach to, and a burst of short tasks (a batch job) would otherwise cost two fsyncs each,
 * the disk work that left processes in D state and the load average high. A removal waits for a
 * write of the same task still in flight, so no checkpoint lands after its removal.
 */
import { Slots } from '../core/slots.js';
import type { Checkpointer, TaskCheckpoint } from './checkpoint.js';

/** Checkpoint writes in flight at once. */
const WRITES_AT_ONCE = 2;

function keyOf(frameworkId: string, taskId: string): string {
  return `${frameworkId}/${taskId}`;
}

/** Queues the agent's task checkpoint writes and removals. */
export class CheckpointWriter {
  private readonly slots = new Slots(WRITES_AT_ONCE);
  /** Tasks whose checkpoint is queued, being written or on disk: whether it was written. */
  private readonly written = new Map<string, Promise<boolean>>();
  /** Writes and removals not settled yet: a stopping agent waits for them, so the disk says what runs. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly checkpoints: Checkpointer) {}

  /** Writes `task`'s checkpoint in its turn, unless `live()` says by then that it ended. */
  save(task: TaskCheckpoint, live: () => boolean): void {
    const key = keyOf(task.framework.id, task.info.taskId);
    const write = this.slots.run(async () => {
      if (!live()) return false;
      await this.checkpoints.saveTask(task);
      return true;
    });
    // A failed write may have left a file: it is removed like a written one.
    this.written.set(
      key,
      write.catch(() => true),
    );
    this.track(write.then(() => undefined));
  }

  /** Notes a checkpoint found on disk at recovery: it is removed like one this agent wrote. */
  adopt(frameworkId: string, taskId: string): void {
    this.written.set(keyOf(frameworkId, taskId), Promise.resolve(true));
  }

  /** Removes a task's checkpoint (after any write of it); nothing to do when none was written. */
  remove(frameworkId: string, taskId: string): Promise<void> {
    const key = keyOf(frameworkId, taskId);
    const write = this.written.get(key);
    if (write === undefined) return Promise.resolve();
    this.written.delete(key);
    const removal = write.then((written) => (written ? this.checkpoints.removeTask(frameworkId, taskId) : undefined));
    this.track(removal);
    return removal;
  }

  /** Settles once every write and removal queued so far has. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
  }
}
