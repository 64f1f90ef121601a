/**
 * SUPPRESS while a framework has nothing to launch, REVIVE as soon as it has: the bookkeeping
 * every framework needs, so that an idle framework costs the allocator nothing. It also keeps a
 * round's DECLINE from undoing a REVIVE of work that arrived while the round was planned.
 *
 * REVIVEs coalesce: one still waiting for the call before it to be answered stands for every
 * REVIVE asked for meanwhile (sent after the work it is for arrived, it serves that work as its
 * own would). Without it a burst of 57 jobs submitted within a few milliseconds sent 57 REVIVEs
 * one after another, each an allocation pass at the master while it was placing and launching
 * that very burst (issue 16).
 */
import type { SchedulerDriver } from './driver.js';

/** What {@link OfferGate.round} returns: the REVIVEs asked for before an offer round began. */
export type OfferRound = number;

/** Tracks whether the framework's offers are suppressed, and sends a call only on a change. */
export class OfferGate {
  /** `unknown` after a (re-)subscription: a framework that fails over may find itself suppressed. */
  private state: 'open' | 'suppressed' | 'unknown' = 'unknown';
  private driver: SchedulerDriver | undefined;
  /** REVIVEs asked for so far, coalesced or not (a round compares it with what it was when the round began). */
  private revives = 0;
  /**
   * The last REVIVE or SUPPRESS sent: the next waits for its answer, so that the master applies
   * them in the order the gate decided (a SUPPRESS overtaken by a later REVIVE would leave the
   * framework suppressed with work to launch, while the gate believes offers flow).
   */
  private last: Promise<void> = Promise.resolve();
  /** The REVIVE queued behind the last call and not sent yet, if the last call queued is one. */
  private queuedRevive: object | undefined;

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
    this.send();
  }

  /**
   * New work arrived: REVIVE even when offers flow, which also clears the filters of offers
   * declined earlier (a decline refuses an agent for a while). Without it, a job submitted just
   * after a round declined the agents it did not need would wait out those refusals.
   */
  revive(): void {
    if (!this.driver) return;
    this.send();
  }

  /** Nothing to launch: SUPPRESS, once. */
  async suppress(): Promise<void> {
    const driver = this.driver;
    if (this.state === 'suppressed' || !driver) return;
    this.state = 'suppressed';
    this.queuedRevive = undefined;
    await this.inOrder(() => driver.suppress()).catch(() => {
      this.failed('suppressed');
    });
  }

  /** Called as an offer round begins; pass what it returns to {@link declined}. */
  round(): OfferRound {
    return this.revives;
  }

  /**
   * The round that began at `round` had its DECLINE answered. Work that arrived while the round
   * was planned was REVIVEd before that DECLINE was sent, so the master may have cleared the
   * filters first and then installed the DECLINE's: the new work would wait out the refusal
   * (seconds) on agents it could use. When any REVIVE was sent since the round began, REVIVE
   * again now, after the DECLINE (Mesos frameworks follow the same rule). Returns true when it
   * did: the framework has work, and must not SUPPRESS on the round's older view.
   */
  declined(round: OfferRound): boolean {
    if (this.revives === round || !this.driver) return false;
    this.send();
    return true;
  }

  private send(): void {
    const driver = this.driver;
    if (!driver) return;
    this.state = 'open';
    this.revives += 1;
    // A REVIVE not sent yet goes out after this request: it serves it too.
    if (this.queuedRevive) return;
    const revive = {};
    this.queuedRevive = revive;
    void this.inOrder(() => {
      if (this.queuedRevive === revive) this.queuedRevive = undefined;
      return driver.revive();
    }).catch(() => {
      this.failed('open');
    });
  }

  /**
   * A REVIVE or SUPPRESS failed. A refusal changed nothing, but a call unanswered by its deadline
   * (GALAXY_E_UNAVAILABLE) may have been applied, late: a SUPPRESS that timed out after the master
   * applied it, taken as not applied, left the gate sure that offers flow while none came, and
   * pods that waited later were never REVIVEd (issue 16). Either way the master's view is not
   * known now: the next {@link want} or {@link suppress} is sent, whatever the gate decided before.
   */
  private failed(sent: 'open' | 'suppressed'): void {
    if (this.state === sent) this.state = 'unknown';
  }

  /** Sends `call` once the previous REVIVE or SUPPRESS was answered. */
  private inOrder(call: () => Promise<void>): Promise<void> {
    const sent = this.last.then(call);
    this.last = sent.catch(() => undefined);
    return sent;
  }
}
