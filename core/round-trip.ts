/**
 * How long acknowledgements take, as TCP estimates its retransmission timeout (RFC 6298): a
 * smoothed round-trip time and its variation, from the round trips of updates sent once only
 * (Karn's rule: a resent update's acknowledgement could answer either send). A status update
 * stream waits this long before its first resend, so that a loaded master or framework, whose
 * acknowledgements come late but do come, is not sent every update twice: a thousand batch tasks
 * on a loaded 2-core machine resent a quarter of their updates after the fixed 1 s, each resend
 * work for the agent, the master and the framework.
 */

/** Smoothed round-trip time and its variation, from samples; a timeout derived from them. */
export class RoundTrip {
  private smoothedMs: number | undefined;
  private variationMs = 0;

  /**
   * @param floorMs the shortest timeout (also the timeout before any sample)
   * @param ceilingMs the longest timeout
   */
  constructor(
    private readonly floorMs: number,
    private readonly ceilingMs: number,
  ) {}

  /** Takes one round trip, in ms (a negative or non-finite one is ignored). */
  sample(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    if (this.smoothedMs === undefined) {
      this.smoothedMs = ms;
      this.variationMs = ms / 2;
      return;
    }
    this.variationMs = 0.75 * this.variationMs + 0.25 * Math.abs(this.smoothedMs - ms);
    this.smoothedMs = 0.875 * this.smoothedMs + 0.125 * ms;
  }

  /** The smoothed round trip (undefined before the first sample). */
  get smoothed(): number | undefined {
    return this.smoothedMs;
  }

  /** How long to wait for an acknowledgement: smoothed + 4 × variation, within floor and ceiling. */
  timeoutMs(): number {
    const estimate = this.smoothedMs === undefined ? 0 : this.smoothedMs + 4 * this.variationMs;
    return Math.min(this.ceilingMs, Math.max(this.floorMs, Math.round(estimate)));
  }
}
