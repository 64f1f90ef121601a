/**
 * SUPPRESS while a framework has nothing to launch, REVIVE as soon as it has: the bookkeeping
 * every framework needs, so that an idle framework costs the allocator nothing.
 */
import type { SchedulerDriver } from './driver.js';

/** Tracks whether the framework's offers are suppressed, and sends a call only on a change. */
export class OfferGate {
  /** `unknown` after a (re-)subscription: a framework that fails over may find itself suppressed. */
  private state: 'open' | 'suppressed' | 'unknown' = 'unknown';
  private driver: SchedulerDriver | undefined;

  /** Starts gating through `driver` (after it has subscribed). */
  attach(driver: SchedulerDriver): void {
    this.driver = driver;
  }

  /** After a (re-)subscription the master's view is not known: the next call is sent either way. */
  reset(): void {
    this.state = 'unknown';
  }

  /** There is work: REVIVE unless offers are known to flow. */
  want(): void {
    if (this.state === 'open' || !this.driver) return;
    const before = this.state;
    this.state = 'open';
    void this.driver.revive().catch(() => {
      this.state = before;
    });
  }

  /**
   * New work arrived: REVIVE even when offers flow, which also clears the filters of offers
   * declined earlier (a decline refuses an agent for a while). Without it, a job submitted just
   * after a round declined the agents it did not need would wait out those refusals.
   */
  revive(): void {
    if (!this.driver) return;
    const before = this.state;
    this.state = 'open';
    void this.driver.revive().catch(() => {
      this.state = before;
    });
  }

  /** Nothing to launch: SUPPRESS, once. */
  async suppress(): Promise<void> {
    if (this.state === 'suppressed' || !this.driver) return;
    const before = this.state;
    this.state = 'suppressed';
    await this.driver.suppress().catch(() => {
      this.state = before;
    });
  }
}
