/**
 * Exponential backoff with full jitter, used for status-update retries and reconnects.
 */
export class Backoff {
  private attempt = 0;

  /**
   * @param initialMs first delay, or a function giving it at each call (an estimate that moves)
   * @param maxMs ceiling of any delay
   * @param jitter fraction of the delay that is randomized (0 = deterministic)
   */
  constructor(
    private readonly initialMs: number | (() => number),
    private readonly maxMs: number,
    private readonly jitter = 0.2,
  ) {}

  /** The next delay in milliseconds; each call doubles the base up to the ceiling. */
  next(): number {
    const initial = typeof this.initialMs === 'number' ? this.initialMs : this.initialMs();
    const base = Math.min(this.maxMs, initial * 2 ** this.attempt);
    this.attempt += 1;
    return Math.round(base * (1 - this.jitter + Math.random() * this.jitter));
  }

  /** Back to the first delay. */
  reset(): void {
    this.attempt = 0;
  }
}
