/**
 * Why a job's pods are pending, as `job show` prints it: one line per reason with the number of
 * hosts it applies to, the most common first.
 */

/** One reason a pod could not be placed, and on how many of the offered hosts it applies. */
export interface PendingReason {
  readonly reason: string;
  readonly hosts: number;
}

/** The reason given when the framework holds no offers at all. */
export const NO_OFFERS = 'no offers (waiting for resources)';

/**
 * Counts the per-host reasons (one per offer) and sorts them by hosts, most first, then by
 * text. With no offers there is one reason, {@link NO_OFFERS}, on 0 hosts.
 */
export function summarizeReasons(perHost: readonly string[]): PendingReason[] {
  if (perHost.length === 0) return [{ reason: NO_OFFERS, hosts: 0 }];
  const counts = new Map<string, number>();
  for (const reason of perHost) counts.set(reason, (counts.get(reason) ?? 0) + 1);
  return [...counts]
    .map(([reason, hosts]) => ({ reason, hosts }))
    .sort((a, b) => b.hosts - a.hosts || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}
