/**
 * A set of completion indexes kept as sorted, disjoint, half-open ranges. A job of a million
 * completions that has run half of them stores a handful of ranges, not half a million numbers:
 * the succeeded and failed indexes are persisted with every change of a job.
 */

/** `[begin, end)` pairs, sorted, disjoint and not touching: the stored form. */
export type IndexRanges = readonly (readonly [number, number])[];

/** A set of non-negative integers. */
export class IndexSet {
  private ranges: [number, number][];

  /** A set holding `ranges` (as stored by {@link toJSON}); overlapping or touching ranges are merged. */
  constructor(ranges: IndexRanges = []) {
    this.ranges = [];
    for (const [begin, end] of ranges) for (let i = begin; i < end;) i = this.addRange(i, end);
  }

  /** How many indexes it holds. */
  get size(): number {
    return this.ranges.reduce((n, [begin, end]) => n + end - begin, 0);
  }

  /** True when `index` is in the set. */
  has(index: number): boolean {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const range = this.ranges[mid];
      if (!range) break;
      if (index < range[0]) hi = mid - 1;
      else if (index >= range[1]) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Adds `index`; returns false when it was there already. */
  add(index: number): boolean {
    if (this.has(index)) return false;
    this.addRange(index, index + 1);
    return true;
  }

  /** The ranges, for storing. */
  toJSON(): IndexRanges {
    return this.ranges.map(([begin, end]) => [begin, end] as const);
  }

  /** Every index, lowest first (for tests and small sets). */
  values(): number[] {
    return this.ranges.flatMap(([begin, end]) => Array.from({ length: end - begin }, (_, i) => begin + i));
  }

  /** Adds `[begin, end)`, merging neighbours; returns `end`. */
  private addRange(begin: number, end: number): number {
    const merged: [number, number][] = [];
    let placed: [number, number] = [begin, end];
    let inserted = false;
    for (const range of this.ranges) {
      if (range[1] < placed[0]) merged.push(range);
      else if (placed[1] < range[0]) {
        if (!inserted) merged.push(placed);
        inserted = true;
        merged.push(range);
      } else placed = [Math.min(range[0], placed[0]), Math.max(range[1], placed[1])];
    }
    if (!inserted) merged.push(placed);
    this.ranges = merged;
    return end;
  }
}
