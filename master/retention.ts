/**
 * Records of what is gone (removed frameworks, tasks reported lost, gone or unreachable) kept for
 * a while, then forgotten: {@link RetainedSet} forgets a key after the retention period, or the
 * oldest keys once it holds more than its bound, so such records never grow without bound.
 */

/** A set whose members expire. */
export class RetainedSet {
  /** Key → when it was added (ms); Map order is insertion order, so the oldest come first. */
  private readonly added = new Map<string, number>();

  constructor(
    private readonly retentionMs: number,
    private readonly maxSize: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Adds (or refreshes) `key`, then forgets what expired. */
  add(key: string): this {
    this.added.delete(key);
    this.added.set(key, this.now());
    this.prune();
    return this;
  }

  /** True when `key` is held and not expired. */
  has(key: string): boolean {
    const at = this.added.get(key);
    return at !== undefined && this.now() - at < this.retentionMs;
  }

  /** Forgets `key`; true when it was held. */
  delete(key: string): boolean {
    return this.added.delete(key);
  }

  /** How many keys are held (expired ones not yet pruned included). */
  get size(): number {
    return this.added.size;
  }

  /** Forgets every key past the retention period, then the oldest beyond the bound. */
  prune(): void {
    const cutoff = this.now() - this.retentionMs;
    for (const [key, at] of this.added) {
      if (at > cutoff && this.added.size <= this.maxSize) break;
      this.added.delete(key);
    }
  }

  /** The keys held, oldest first. */
  [Symbol.iterator](): IterableIterator<string> {
    return this.added.keys();
  }
}

/** True when a task that became terminal at `terminalAtMs` has outlived the retention period. */
export function expired(terminalAtMs: number, nowMs: number, retentionMs: number): boolean {
  return nowMs - terminalAtMs >= retentionMs;
}
