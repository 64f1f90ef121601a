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
  readonly id: string;
  readonly at: number;
  readonly connection: FrameworkConnection;
}

/** The updates forwarded within the last {@link FORWARD_AGAIN_MS}, oldest first. */
export class ForwardedUpdates {
  /** The last forwarding of each update, by task key and uuid. */
  private readonly forwarded = new Map<string, Forwarded>();
  /**
   * Every forwarding in the order it happened (a FIFO from `head`); an entry whose update was
   * forwarded again since is skipped when it leaves. Expiry walked the map from its start before:
   * a map keeps deleted entries as holes until it shrinks, so each call stepped over every entry
   * expired since, 10 % of a full-cell master's time (issue 16).
   */
  private order: Forwarded[] = [];
  private head = 0;
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
    const entry: Forwarded = { id, at: now, connection };
    this.forwarded.set(id, entry);
    this.order.push(entry);
    while (this.forwarded.size > this.remembered) this.drop();
    return true;
  }

  /** How many updates are remembered. */
  get size(): number {
    return this.forwarded.size;
  }

  /** Drops the entries older than the interval (they are the first ones). */
  private forget(now: number): void {
    for (let first = this.order[this.head]; first && now - first.at >= this.againMs; first = this.order[this.head])
      this.drop();
  }

  /** Drops the oldest forwarding, and its update unless forwarded again since. */
  private drop(): void {
    const first = this.order[this.head];
    if (!first) return;
    this.head += 1;
    if (this.forwarded.get(first.id) === first) this.forwarded.delete(first.id);
    // The queue is compacted once its dropped part is half of it.
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }
}
