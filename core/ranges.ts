/** Arithmetic on ranges (ports): normalize, add, subtract, contain. */
import type { Range } from '../proto/gen/galaxy/v1/common.js';

export type { Range };

/** Sorts, merges overlapping and adjacent ranges, and drops empty ones. Returns a new array. */
export function normalizeRanges(ranges: readonly Range[]): Range[] {
  const sorted = ranges.filter((r) => r.begin <= r.end).sort((a, b) => a.begin - b.begin);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.begin <= last.end + 1) {
      last.end = Math.max(last.end, r.end);
    } else {
      out.push({ begin: r.begin, end: r.end });
    }
  }
  return out;
}

/** The union of two range sets. */
export function addRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  return normalizeRanges([...a, ...b]);
}

/** `a` minus `b`. */
export function subtractRanges(a: readonly Range[], b: readonly Range[]): Range[] {
  let result = normalizeRanges(a);
  for (const cut of normalizeRanges(b)) {
    const next: Range[] = [];
    for (const r of result) {
      if (cut.end < r.begin || cut.begin > r.end) {
        next.push(r);
        continue;
      }
      if (cut.begin > r.begin) next.push({ begin: r.begin, end: cut.begin - 1 });
      if (cut.end < r.end) next.push({ begin: cut.end + 1, end: r.end });
    }
    result = next;
  }
  return result;
}

/** True when every value of `inner` lies in `outer`. */
export function containsRanges(outer: readonly Range[], inner: readonly Range[]): boolean {
  const o = normalizeRanges(outer);
  return normalizeRanges(inner).every((r) => o.some((x) => x.begin <= r.begin && r.end <= x.end));
}

/** How many values the ranges hold. */
export function countRanges(ranges: readonly Range[]): number {
  let n = 0;
  for (const r of ranges) n += r.end - r.begin + 1;
  return n;
}

/** Formats ranges as `31000-31999,32005`. */
export function formatRanges(ranges: readonly Range[]): string {
  return ranges.map((r) => (r.begin === r.end ? `${r.begin}` : `${r.begin}-${r.end}`)).join(',');
}
