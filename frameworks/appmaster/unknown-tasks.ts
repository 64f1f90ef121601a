/**
 * Pods' tasks the master may or may not have: those of an ACCEPT that went unanswered
 * (GALAXY_E_UNAVAILABLE: past its deadline the master may still have carried it out), and those a
 * KILL found unknown. Their pods keep the task and stay launching; the master is asked about
 * them (an explicit RECONCILE) until it says something of each: a state (the pod is adopted, or
 * its end handled as any other), or TASK_UNKNOWN (never launched: the pod is placed again).
 * Putting the pod back at once instead launched it a second time when the master had carried
 * the ACCEPT out (issue 16: 703 ACCEPTs of the AppMaster timed out at 6,000 agents).
 */

/** A task not heard of is asked about again this long (ms) after the last ask was answered or failed. */
export const ASK_AGAIN_MS = 5_000;
/** Tasks named in one RECONCILE. */
export const ASK_BATCH = 1_000;

/** A task to ask the master about. */
export interface UnknownTask {
  readonly taskId: string;
  readonly agentId: string;
}

/** The tasks to ask the master about, and when each is asked next. */
export class UnknownTasks {
  /** Task id → its agent and when it is asked next (ms; Infinity while an ask is in flight). */
  private readonly tasks = new Map<string, { agentId: string; askAt: number }>();

  /** How many tasks wait for an answer. */
  get size(): number {
    return this.tasks.size;
  }

  /** Whether `taskId` exists at the master is unknown: it is asked about at the next look. */
  add(taskId: string, agentId: string): void {
    this.tasks.set(taskId, { agentId, askAt: 0 });
  }

  /** True while the master has not said anything of `taskId` since it was added. */
  has(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  /** The master said something of `taskId` (or its pod moved on): nothing more to ask. */
  heard(taskId: string): void {
    this.tasks.delete(taskId);
  }

  /** A new subscription: every task is asked about at the next look (the implicit reconciliation names only tasks the master has). */
  askAllAgain(): void {
    for (const task of this.tasks.values()) task.askAt = 0;
  }

  /**
   * The tasks to ask about now, at most {@link ASK_BATCH}; each is in flight until {@link asked}
   * is called with the same list.
   */
  due(now: number): UnknownTask[] {
    const due: UnknownTask[] = [];
    for (const [taskId, task] of this.tasks) {
      if (due.length >= ASK_BATCH) break;
      if (task.askAt > now) continue;
      task.askAt = Infinity;
      due.push({ taskId, agentId: task.agentId });
    }
    return due;
  }

  /** The ask of `tasks` was answered or failed at `now`: those not heard of by then are asked again later. */
  asked(tasks: readonly UnknownTask[], now: number): void {
    for (const { taskId } of tasks) {
      const task = this.tasks.get(taskId);
      if (task) task.askAt = now + ASK_AGAIN_MS;
    }
  }
}
