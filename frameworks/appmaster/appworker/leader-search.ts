/**
 * How an AppWorker finds the leading AppMaster without a coordinator: it knows every AppMaster's
 * address (`GALAXY_APPMASTERS` at launch, refreshed by each answer of the leader) and pulls from
 * one at a time. After a failed pull it goes where a standby's NOT_LEADER answer says the leader
 * is, or else to the next address in turn. Pure: the worker carries the decisions out.
 */
import { leaderNamedBy } from '../../../core/not-leader.js';

/** The addresses an AppWorker may pull from, and the one it pulls from now. */
export class LeaderSearch {
  private addresses: string[];
  private at: string;

  /** @param addresses every AppMaster's `host:port`, the likely leader first (at least one) */
  constructor(addresses: readonly string[]) {
    this.addresses = unique(addresses);
    const first = this.addresses[0];
    if (first === undefined) throw new Error('an AppWorker needs at least one AppMaster address');
    this.at = first;
  }

  /** Where to pull now. */
  get current(): string {
    return this.at;
  }

  /** Every known address, in turn order. */
  get known(): readonly string[] {
    return this.addresses;
  }

  /** After a good pull: the leader's own list of AppMasters (kept when it sends none). */
  learned(addresses: readonly string[]): void {
    const fresh = unique(addresses);
    if (fresh.length === 0) return;
    this.addresses = fresh.includes(this.at) ? fresh : [this.at, ...fresh];
  }

  /**
   * After a failed pull from {@link current}: moves to the leader the error names (a standby's
   * NOT_LEADER), else to the next address in turn. Returns true when the target changed.
   */
  failed(error: unknown): boolean {
    const named = leaderNamedBy(error);
    const before = this.at;
    if (named !== undefined) {
      if (!this.addresses.includes(named)) this.addresses.push(named);
      this.at = named;
    } else {
      const index = this.addresses.indexOf(this.at);
      this.at = this.addresses[(index + 1) % this.addresses.length] ?? this.at;
    }
    return this.at !== before;
  }
}

/** Non-empty addresses, each once, in order. */
function unique(addresses: readonly string[]): string[] {
  return [...new Set(addresses.map((a) => a.trim()).filter((a) => a !== ''))];
}
