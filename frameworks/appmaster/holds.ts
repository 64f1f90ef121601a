/**
 * Pulls held open: an AppWorker's pull waits here, per job, until the job changes or the hold
 * times out, so a change reaches the workers at once without them polling fast.
 */
export class PullHolds {
  private readonly holds = new Map<string, Set<() => void>>();

  /** Resolves after `ms`, or sooner when {@link wake} is called for `job`. */
  hold(job: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.holds.get(job) ?? new Set<() => void>();
      this.holds.set(job, waiters);
      const done = (): void => {
        clearTimeout(timer);
        waiters.delete(done);
        if (waiters.size === 0 && this.holds.get(job) === waiters) this.holds.delete(job);
        resolve();
      };
      const timer = setTimeout(done, ms);
      waiters.add(done);
    });
  }

  /** Answers the held pulls of `job` now. */
  wake(job: string): void {
    for (const done of [...(this.holds.get(job) ?? [])]) done();
  }

  /** Answers every held pull now. */
  wakeAll(): void {
    for (const job of [...this.holds.keys()]) this.wake(job);
  }
}
