/**
 * Port assignment inside one offer: fixed ports must be free, dynamic ones take the lowest free
 * numbers so that placements are deterministic and leave the top of the ranges whole.
 */
import type { Range } from '../../../proto/gen/galaxy/v1/common.js';
import { containsRanges, normalizeRanges } from '../../../core/ranges.js';
import type { JobSpec } from '../spec/schema.js';

/** Port name → number, or why the offer's free ports cannot serve the pod. */
export type PortPick =
  { readonly ok: true; readonly ports: Record<string, number> } | { readonly ok: false; readonly reason: string };

/** Up to `count` of the lowest numbers in `ranges`, skipping those in `taken`. */
export function lowestFree(ranges: readonly Range[], count: number, taken: ReadonlySet<number>): number[] {
  const picked: number[] = [];
  for (const r of normalizeRanges(ranges)) {
    for (let port = r.begin; port <= r.end && picked.length < count; port += 1) {
      if (!taken.has(port)) picked.push(port);
    }
    if (picked.length === count) break;
  }
  return picked;
}

/** Gives each of the pod's ports a number from `free`, the offer's ports not yet given out. */
export function pickPorts(ports: JobSpec['ports'], free: readonly Range[]): PortPick {
  const fixed = new Set<number>();
  for (const p of ports) {
    if (p.port === 'dynamic') continue;
    if (!containsRanges(free, [{ begin: p.port, end: p.port }])) return { ok: false, reason: `port ${p.port} taken` };
    fixed.add(p.port);
  }
  const dynamic = ports.filter((p) => p.port === 'dynamic');
  const numbers = lowestFree(free, dynamic.length, fixed);
  if (numbers.length < dynamic.length) return { ok: false, reason: 'not enough free ports' };
  const picked: Record<string, number> = {};
  let next = 0;
  for (const p of ports) {
    picked[p.name] = p.port === 'dynamic' ? (numbers[next++] ?? 0) : p.port;
  }
  return { ok: true, ports: picked };
}
