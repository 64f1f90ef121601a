/**
 * Outstanding offers: made, then accepted, declined, rescinded or timed out.
 */
import type { Offer } from '../proto/gen/galaxy/v1/common.js';

/** The outstanding offers, indexed by id, framework and agent. */
export class OfferBook {
  private readonly offers = new Map<string, Offer>();
  private readonly timers = new Map<string, NodeJS.Timeout>();

  /**
   * @param timeoutMs an offer not answered within this time is rescinded (0 = never)
   * @param onTimeout called with the offer when it times out (after it is removed)
   */
  constructor(
    private readonly timeoutMs: number,
    private readonly onTimeout: (offer: Offer) => void,
  ) {}

  /** Records an offer and starts its timeout. */
  add(offer: Offer): void {
    this.offers.set(offer.id, offer);
    if (this.timeoutMs > 0) {
      const timer = setTimeout(() => {
        if (this.remove(offer.id)) this.onTimeout(offer);
      }, this.timeoutMs);
      timer.unref();
      this.timers.set(offer.id, timer);
    }
  }

  /** How many offers are outstanding. */
  get size(): number {
    return this.offers.size;
  }

  /** The offer with this id, if outstanding. */
  get(offerId: string): Offer | undefined {
    return this.offers.get(offerId);
  }

  /** Removes an offer; returns it when it was outstanding. */
  remove(offerId: string): Offer | undefined {
    const offer = this.offers.get(offerId);
    if (!offer) return undefined;
    this.offers.delete(offerId);
    clearTimeout(this.timers.get(offerId));
    this.timers.delete(offerId);
    return offer;
  }

  /** Removes and returns every offer matching `predicate`. */
  removeWhere(predicate: (offer: Offer) => boolean): Offer[] {
    const removed: Offer[] = [];
    for (const offer of this.offers.values()) {
      if (predicate(offer)) removed.push(offer);
    }
    for (const offer of removed) this.remove(offer.id);
    return removed;
  }

  /** Every outstanding offer. */
  all(): IterableIterator<Offer> {
    return this.offers.values();
  }

  /** Stops every timer. */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.offers.clear();
  }
}
