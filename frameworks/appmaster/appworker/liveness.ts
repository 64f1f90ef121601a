/**
 * The liveness restarts an AppWorker made: when, so that it reports how many fell within the
 * liveness check's window (the AppMaster replaces the pod when they reach `maxRestarts`).
 */

/** Most restart times kept: more than any `maxRestarts` allows. */
const KEPT = 128;

/** Times of liveness restarts. */
export class LivenessRestarts {
  private times: number[] = [];

  /** A restart at `now` (ms). */
  record(now: number): void {
    this.times.push(now);
    if (this.times.length > KEPT) this.times = this.times.slice(-KEPT);
  }

  /** How many restarts happened in the `windowS` seconds before `now`. */
  count(windowS: number, now: number): number {
    return this.times.filter((t) => now - t < windowS * 1000).length;
  }

  /** A new release: its restarts start from none. */
  clear(): void {
    this.times = [];
  }
}
