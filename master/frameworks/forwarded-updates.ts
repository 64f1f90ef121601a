/**
 * Which agents' status updates the master forwarded to a framework lately, so that an agent's
 * resend of one is not forwarded again on the same stream within {@link FORWARD_AGAIN_MS}
 * (issue 16). An agent resends an unacknowledged update after 1, 2, 4, 8 s…: while a busy
 * framework works through a burst of updates, each resend forwarded again was one more update for
 * it to handle and acknowledge, which slowed it further. At-least-once is kept: a resend still
 * reaches the framework once the interval has passed, and at once on a new stream (the framework
 * re-subscribed: what was sent on the old one may be lost).
 */
import type { FrameworkConnection } from '../records.js';

/** How long a forwarded update is not forwarded again on the same stream. */
export const FORWARD_AGAIN_MS = 5000;
/** Most updates remembered (the oldest are forgotten first: then a resend is simply forwarded). */
export const FORWARDED_REMEMBERED = 500_000;

interface Forwarded {
  readonly at: number;
  readonly connection: FrameworkConnection;
}

/** The updates forwarded within the last {@link FORWARD_AGAIN_MS}, oldest first. */
export class ForwardedUpdates {
  /** By task key and uuid; in the order they were (last) forwarded. */
  private readonly forwarded = new Map<string, Forwarded>();
  /** Resends not forwarded (GetMasterStats). */
  held = 0;

  constructor(
    private readonly againMs = FORWARD_AGAIN_MS,
    private readonly remembered = FORWARDED_REMEMBERED,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * True when the update `uuid` of task `key` should go to the framework on `connection` now
   * (and remembers that it went); false for a resend of one forwarded on this stream lately.
   */
  forward(key: string, uuid: string, connection: FrameworkConnection): boolean {
    const now = this.now();
    this.forget(now);
    const id = `${key}\u0000${uuid}`;
    const last = this.forwarded.get(id);
    if (last && last.connection === connection && connection.isOpen) {
      this.held += 1;
      return false;
    }
    this.forwarded.delete(id);
    this.forwarded.set(id, { at: now, connection });
    if (this.forwarded.size > this.remembered) {
      const oldest = this.forwarded.keys().next().value;
      if (oldest !== undefined) this.forwarded.delete(oldest);
    }
    return true;
  }

  /** How many updates are remembered. */
  get size(): number {
    return this.forwarded.size;
  }

  /** Drops the entries older than the interval (they are the first ones). */
  private forget(now: number): void {
    for (const [id, entry] of this.forwarded) {
      if (now - entry.at < this.againMs) return;
      this.forwarded.delete(id);
    }
  }
}
