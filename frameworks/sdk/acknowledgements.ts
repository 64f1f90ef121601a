/**
 * A driver's acknowledgements, batched: those of one turn of the event loop leave as one call
 * (ACKNOWLEDGE_MANY; a lone one as ACKNOWLEDGE, which every master understands). A burst of short
 * tasks brings three updates each; one unary call per update was a large part of a framework's
 * and the master's work in a batch of a thousand tasks.
 */
import type { Acknowledge, SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';

/** Acknowledgements one call carries at most (the master's default limit is 10,000). */
export const ACKNOWLEDGEMENTS_PER_CALL = 1000;

/** The call that carries `acks` (one or more). */
export function acknowledgementCall(acks: readonly Acknowledge[]): NonNullable<SchedulerCall['call']> {
  const [only] = acks;
  if (acks.length === 1 && only) return { $case: 'acknowledge', acknowledge: only };
  return { $case: 'acknowledgeMany', acknowledgeMany: { acknowledgements: [...acks] } };
}

interface Queued {
  readonly ack: Acknowledge;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Collects acknowledgements and sends them once per turn of the event loop, in order. */
export class AcknowledgementBatcher {
  private pending: Queued[] = [];
  private scheduled: NodeJS.Immediate | undefined;

  /** @param send sends one call */
  constructor(private readonly send: (call: NonNullable<SchedulerCall['call']>) => Promise<unknown>) {}

  /**
   * Queues one acknowledgement; it leaves with the others of this turn. Settles with the call
   * that carried it (a refusal of one of a batch rejects them all; the master applied the others).
   */
  add(ack: Acknowledge): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ ack, resolve, reject });
      this.scheduled ??= setImmediate(() => {
        this.flush();
      });
    });
  }

  /** Sends what is queued now. */
  flush(): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, ACKNOWLEDGEMENTS_PER_CALL);
      this.send(acknowledgementCall(batch.map((q) => q.ack))).then(
        () => {
          for (const q of batch) q.resolve();
        },
        (error: unknown) => {
          for (const q of batch) q.reject(error);
        },
      );
    }
  }

  /** Drops what is queued, rejecting it with `error` (the master resends what was not acknowledged). */
  clear(error: unknown): void {
    clearImmediate(this.scheduled);
    this.scheduled = undefined;
    for (const q of this.pending.splice(0)) q.reject(error);
  }
}
