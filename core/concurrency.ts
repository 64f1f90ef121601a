/**
 * Bounded concurrency: many independent waits (coordinator reads of thousands of keys) overlap,
 * up to a limit, instead of one round trip after another (issue 16: a master reading 12,000 agent
 * credentials from ZooKeeper one at a time took longer than its start may).
 */

/** Runs `work` on every item, at most `limit` at once; resolves with the results in order. */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/**
 * At most `limit` tasks at once, the others started in the order they came. For background work
 * that must not crowd out what else a process does through the same queue (issue 16: a master
 * that admitted 12,397 agents queued 12,397 coordinator writes at once, and a framework's
 * UPDATE_FRAMEWORK, whose write joined the queue after them, timed out).
 */
export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a limit must be a positive integer, got ${limit}`);
  }

  /** Tasks started and not yet settled. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a turn. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` once fewer than `limit` run; settles as it does. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running += 1;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The turn passes straight to the next task: `running` stays as it is.
      if (next) next();
      else this.running -= 1;
    }
  }
}
