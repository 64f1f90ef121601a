/**
 * A token bucket: at most `burst` at once, refilled at `ratePerS`. It limits how many tasks the
 * master preempts per second.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly burst: number,
    private readonly ratePerS: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Tokens available now. */
  available(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerS);
    this.last = now;
    return this.tokens;
  }

  /** Takes `count` tokens if there are that many; false (taking none) otherwise. */
  take(count: number): boolean {
    if (this.available() < count) return false;
    this.tokens -= count;
    return true;
  }
}
