/**
 * A driver's automatic acknowledgements, sent in batches: the status updates handled in one turn
 * of the event loop are acknowledged by one ACKNOWLEDGEMENTS call (up to {@link ACKS_PER_CALL}),
 * not one call each (issue 16: a framework starting 100,000 tasks acknowledged 100,000 times).
 * A lost call only means its updates come again (at-least-once), as with single acknowledgements.
 */
import type { Acknowledge } from '../../proto/gen/galaxy/v1/scheduler.js';

/** Acknowledgements per call at most (the master accepts up to 10,000). */
export const ACKS_PER_CALL = 1000;

/** Collects acknowledgements and sends them at the end of the turn. */
export class AckBatch {
  private pending: Acknowledge[] = [];
  private scheduled = false;

  /**
   * @param send sends one batch (one call); its failure is reported to `failed`
   * @param schedule runs the flush once the current turn is over (tests pass their own)
   */
  constructor(
    private readonly send: (acks: Acknowledge[]) => Promise<void>,
    private readonly failed: (acks: Acknowledge[], error: unknown) => void,
    private readonly schedule: (flush: () => void) => void = (flush) => setImmediate(flush),
  ) {}

  /** Queues one acknowledgement. */
  add(ack: Acknowledge): void {
    this.pending.push(ack);
    if (this.scheduled) return;
    this.scheduled = true;
    this.schedule(() => {
      this.flush();
    });
  }

  /** Sends what is queued, in calls of at most {@link ACKS_PER_CALL}, in order. */
  flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += ACKS_PER_CALL) {
      const acks = all.slice(i, i + ACKS_PER_CALL);
      this.send(acks).catch((error: unknown) => {
        this.failed(acks, error);
      });
    }
  }

  /** Forgets what is queued (the driver stopped: the master forgets the framework's updates anyway). */
  clear(): void {
    this.pending = [];
  }
}
