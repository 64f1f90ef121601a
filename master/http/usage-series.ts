/**
 * Usage per user over time, from the accounting ledger. The ledger answers totals over "the last
 * N minutes" in whole one-minute buckets (`GetAccounting.since_s`), so the usage of minute k
 * (counted back from now) is the total over the last k minutes less the total over the last
 * k − 1: a series from N + 1 totals, with no second store of the same facts.
 */
import type { GetAccountingResponse, ResourceSeconds } from '../../proto/gen/galaxy/v1/operator.js';

/** The most minutes one series covers (the console asks for 30). */
export const MAX_SERIES_MINUTES = 120;

/** One user's usage in one minute. */
export interface UsagePoint {
  /** The minute's start, seconds since the epoch. */
  readonly at: number;
  /** Millicore-seconds used (of what was allocated: `allocated` beside it). */
  readonly cpuMs: number;
  readonly memBs: number;
  readonly allocatedCpuMs: number;
  readonly allocatedMemBs: number;
  /** Held on revocable (reclaimed) resources: lent capacity, not in `allocated…`. */
  readonly revocableCpuMs: number;
  readonly revocableMemBs: number;
}

/** Per user, one point per minute, oldest first. */
export type UsageSeries = Record<string, UsagePoint[]>;

function perUser(
  report: GetAccountingResponse | undefined,
): Map<string, { used: ResourceSeconds; allocated: ResourceSeconds; revocable: ResourceSeconds }> {
  const zero = (): ResourceSeconds => ({ cpuMs: 0, memBs: 0, diskBs: 0 });
  const out = new Map<string, { used: ResourceSeconds; allocated: ResourceSeconds; revocable: ResourceSeconds }>();
  for (const row of report?.rows ?? []) {
    const entry = out.get(row.user) ?? { used: zero(), allocated: zero(), revocable: zero() };
    entry.used.cpuMs += row.used?.cpuMs ?? 0;
    entry.used.memBs += row.used?.memBs ?? 0;
    entry.allocated.cpuMs += row.allocated?.cpuMs ?? 0;
    entry.allocated.memBs += row.allocated?.memBs ?? 0;
    entry.revocable.cpuMs += row.revocable?.cpuMs ?? 0;
    entry.revocable.memBs += row.revocable?.memBs ?? 0;
    out.set(row.user, entry);
  }
  return out;
}

/**
 * The series from `totals[k]` = the ledger's report over the last k minutes (k = 0…N; `totals[0]`
 * may be undefined: nothing). Differences below zero (a bucket retired between two reads) count
 * as zero.
 */
export function usageSeries(totals: readonly (GetAccountingResponse | undefined)[], nowS: number): UsageSeries {
  const minutes = totals.length - 1;
  const users = new Set<string>();
  const byK = totals.map((report) => perUser(report));
  for (const m of byK) for (const user of m.keys()) users.add(user);
  const series: UsageSeries = {};
  const minuteStart = Math.floor(nowS / 60) * 60;
  for (const user of [...users].sort()) {
    const points: UsagePoint[] = [];
    for (let k = minutes; k >= 1; k--) {
      const outer = byK[k]?.get(user);
      const inner = byK[k - 1]?.get(user);
      const diff = (a: number | undefined, b: number | undefined) => Math.max(0, (a ?? 0) - (b ?? 0));
      points.push({
        at: minuteStart - (k - 1) * 60,
        cpuMs: diff(outer?.used.cpuMs, inner?.used.cpuMs),
        memBs: diff(outer?.used.memBs, inner?.used.memBs),
        allocatedCpuMs: diff(outer?.allocated.cpuMs, inner?.allocated.cpuMs),
        allocatedMemBs: diff(outer?.allocated.memBs, inner?.allocated.memBs),
        revocableCpuMs: diff(outer?.revocable.cpuMs, inner?.revocable.cpuMs),
        revocableMemBs: diff(outer?.revocable.memBs, inner?.revocable.memBs),
      });
    }
    series[user] = points;
  }
  return series;
}
