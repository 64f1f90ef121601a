/**
 * Refuse filters: after a framework declines an offer with `refuse_seconds`, the agent is not
 * offered to it again until the filter expires or the framework revives (Mesos' offer filters).
 *
 * One {@link RefuseFilters} per framework, keyed by the ledger's agent index rather than the agent
 * id, so that the check in the allocation hot loop is one `Map.get` on a small integer.
 */

/** Default `refuse_seconds` when a DECLINE carries a filter without one (as in Mesos). */
export const DEFAULT_REFUSE_SECONDS = 5;

/** The refuse filters of one framework. */
export class RefuseFilters {
  /** Agent index → time (ms) until which that agent is not offered. */
  private readonly until = new Map<number, number>();

  /** Number of filters held, expired ones included until they are next looked at. */
  get size(): number {
    return this.until.size;
  }

  /** Filters the agent until `untilMs`; a later filter replaces an earlier one. */
  refuse(agentIndex: number, untilMs: number): void {
    this.until.set(agentIndex, untilMs);
  }

  /**
   * True when the agent is filtered at `nowMs`. An expired filter is dropped here, so filters
   * need no timer of their own: they cost nothing until the agent is considered again.
   */
  blocks(agentIndex: number, nowMs: number): boolean {
    const until = this.until.get(agentIndex);
    if (until === undefined) return false;
    if (until > nowMs) return true;
    this.until.delete(agentIndex);
    return false;
  }

  /** Forgets the filter on one agent (the agent left; its index may be reused). */
  forget(agentIndex: number): void {
    this.until.delete(agentIndex);
  }

  /** Drops every filter (REVIVE, or the framework disconnected). */
  clear(): void {
    this.until.clear();
  }
}

/** Converts a filter's `refuseSeconds` (or the default) to milliseconds; 0 or less means no filter. */
export function refuseMillis(refuseSeconds: number | undefined, defaultSeconds: number): number {
  const seconds = refuseSeconds ?? defaultSeconds;
  return seconds > 0 ? seconds * 1000 : 0; // NaN and negatives mean "no filter", as 0 does
}
