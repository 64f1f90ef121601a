/**
 * The batch framework's tasks in flight: which job each belongs to, on which agent, and when the
 * master last said anything of it. Reconciliation is asked from here: every task in flight after a
 * (re-)subscription (after a failover these are the tasks the last leader launched, which the
 * master may or may not know), and, as Mesos advises, periodically the tasks the master has been
 * silent about, so that a missed end or a launch that never arrived cannot stall a job. A task to
 * be asked about at once (a launch whose outcome is unknown) goes before the others: in a cell of
 * 130,000 long-running tasks, which all fall silent, such tasks waited their turn in the queue for
 * up to 10 minutes (`bench:scale`, 12,397 agents).
 */

/** A live task silent this long (ms) is reconciled… */
const SILENT_MS = 15_000;
/** …at most this often (ms)… */
const RECONCILE_EVERY_MS = 5_000;
/** …this many at a time (also the size of each batch of an explicit reconciliation). */
export const RECONCILE_BATCH = 1_000;

/** A task to ask the master about. */
export interface TaskRef {
  readonly taskId: string;
  readonly agentId: string;
}

/** Tasks in flight. */
export class InFlightTasks {
  /** Task id → its job's name, its agent, and when the master last spoke of it (ms). */
  private readonly tasks = new Map<string, { job: string; agentId: string; at: number }>();
  private lastReconcile = 0;

  /** Tracks `taskId` of `job` on `agentId`, last heard of at `at` (0: long ago, asked about at once). */
  add(taskId: string, job: string, agentId: string, at: number): void {
    this.tasks.set(taskId, { job, agentId, at });
  }

  /** The name of the job `taskId` belongs to, while it is in flight. */
  jobOf(taskId: string): string | undefined {
    return this.tasks.get(taskId)?.job;
  }

  /** The master spoke of `taskId` at `now`. */
  heard(taskId: string, now: number): void {
    const task = this.tasks.get(taskId);
    if (task) task.at = now;
  }

  /** Stops tracking `taskId` (it ended, or its launch was put back). */
  forget(taskId: string): void {
    this.tasks.delete(taskId);
  }

  /** Whether a launch of `taskId` happened is unknown: it is asked about at the next look. */
  markSilent(taskId: string): void {
    const task = this.tasks.get(taskId);
    if (task) task.at = 0;
    this.lastReconcile = 0;
  }

  /** Every task in flight, in batches of {@link RECONCILE_BATCH}: what a new subscription asks about. */
  batches(): TaskRef[][] {
    const all = [...this.tasks].map(([taskId, task]) => ({ taskId, agentId: task.agentId }));
    const out: TaskRef[][] = [];
    for (let i = 0; i < all.length; i += RECONCILE_BATCH) out.push(all.slice(i, i + RECONCILE_BATCH));
    return out;
  }

  /**
   * The tasks to ask about now, at most one batch; empty between looks. First those to be asked
   * about at once (never heard of: `at` 0), then those silent for a while.
   */
  silent(now: number): TaskRef[] {
    if (now - this.lastReconcile < RECONCILE_EVERY_MS) return [];
    this.lastReconcile = now;
    const silent: TaskRef[] = [];
    for (const urgent of [true, false])
      for (const [taskId, task] of this.tasks) {
        if (silent.length >= RECONCILE_BATCH) return silent;
        const due = urgent ? task.at === 0 : task.at !== 0 && now - task.at >= SILENT_MS;
        if (due) silent.push({ taskId, agentId: task.agentId });
      }
    return silent;
  }
}
