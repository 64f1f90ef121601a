/**
 * SUPPRESS while a framework has nothing to launch, REVIVE as soon as it has: the bookkeeping
 * every framework needs, so that an idle framework costs the allocator nothing.
 */
import type { SchedulerDriver } from './scheduler-driver.js';

/** Tracks whether the framework has suppressed offers, and flips it once per change. */
export class OfferGate {
  private suppressed = false;
  private driver: SchedulerDriver | undefined;

  /** Starts gating through `driver` (after it has subscribed). */
  attach(driver: SchedulerDriver): void {
    this.driver = driver;
  }

  /** After a (re-)subscription the master has forgotten any suppression. */
  reset(): void {
    this.suppressed = false;
  }

  /** There is work: REVIVE if offers were suppressed. */
  want(): void {
    if (!this.suppressed || !this.driver) return;
    this.suppressed = false;
    void this.driver.revive().catch(() => {
      this.suppressed = true;
    });
  }

  /** Nothing to launch: SUPPRESS, once. */
  async suppress(): Promise<void> {
    if (this.suppressed || !this.driver) return;
    this.suppressed = true;
    await this.driver.suppress().catch(() => {
      this.suppressed = false;
    });
  }
}
