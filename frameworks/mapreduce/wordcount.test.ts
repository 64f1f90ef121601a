/**
 * Word count's pieces: splitting into byte ranges, counting words across any cut, the stable
 * partition hash, and merging partitions.
 */
import { describe, expect, it } from 'vitest';
import {
  countRange,
  formatCounts,
  mergeCounts,
  parseCounts,
  partition,
  partitionOf,
  splitInput,
  type Counts,
} from './wordcount.js';

/** The reference: a direct count of the whole text. */
function directCount(text: string): Counts {
  const counts: Counts = new Map();
  for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) counts.set(w, (counts.get(w) ?? 0) + 1);
  return counts;
}

const sorted = (c: Counts) => [...c.entries()].sort(([a], [b]) => (a < b ? -1 : 1));

describe('splitInput', () => {
  it('cuts files into m splits of nearly equal bytes, covering every byte exactly once', () => {
    const files = [
      { path: '/a', size: 10 },
      { path: '/b', size: 0 },
      { path: '/c', size: 25 },
      { path: '/d', size: 1 },
    ];
    for (const m of [1, 2, 3, 4, 7, 36, 50]) {
      const splits = splitInput(files, m);
      expect(splits).toHaveLength(m);
      const sizes = splits.map((s) => s.reduce((n, r) => n + r.end - r.start, 0));
      expect(sizes.reduce((a, b) => a + b, 0)).toBe(36);
      if (m <= 36) expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      for (const file of files) {
        const ranges = splits.flat().filter((r) => r.path === file.path);
        let at = 0;
        for (const r of ranges) {
          expect(r.start).toBe(at);
          expect(r.end).toBeGreaterThan(r.start);
          at = r.end;
        }
        expect(at).toBe(file.size);
      }
    }
  });

  it('splits one file across maps and several files into one map', () => {
    expect(splitInput([{ path: '/x', size: 100 }], 2)).toEqual([
      [{ path: '/x', start: 0, end: 50 }],
      [{ path: '/x', start: 50, end: 100 }],
    ]);
    expect(
      splitInput(
        [
          { path: '/x', size: 3 },
          { path: '/y', size: 3 },
        ],
        1,
      ),
    ).toEqual([
      [
        { path: '/x', start: 0, end: 3 },
        { path: '/y', start: 0, end: 3 },
      ],
    ]);
  });
});

describe('countRange', () => {
  const text = 'The quick brown fox, the LAZY dog; 42 dogs\nand the-end. Zürich x';
  const data = Buffer.from(text, 'utf8');

  it('counts every word exactly once, wherever the cuts fall', () => {
    const expected = sorted(
      (() => {
        const c: Counts = new Map();
        countRange(data, 0, 0, data.length, c);
        return c;
      })(),
    );
    expect(expected.find(([w]) => w === 'the')?.[1]).toBe(3);
    expect(expected.find(([w]) => w === 'z')?.[1]).toBe(1); // non-ASCII bytes separate words
    for (let cut = 0; cut <= data.length; cut++) {
      for (const cut2 of [cut, Math.min(data.length, cut + 3), data.length]) {
        const counts: Counts = new Map();
        countRange(data, 0, 0, cut, counts);
        countRange(data, 0, cut, cut2, counts);
        countRange(data, 0, cut2, data.length, counts);
        expect(sorted(counts)).toEqual(expected);
      }
    }
  });

  it('reads a window of the file that starts one byte before the range', () => {
    const counts: Counts = new Map();
    // Range [10, 20) of the text, given the bytes from 9 to the end.
    countRange(data.subarray(9), 9, 10, 20, counts);
    expect(sorted(counts)).toEqual([
      ['brown', 1],
      ['fox', 1],
    ]);
    // A range that starts inside "quick" leaves it to the range before.
    const inside: Counts = new Map();
    countRange(data.subarray(5), 5, 6, 12, inside);
    expect(sorted(inside)).toEqual([['brown', 1]]);
  });

  it('agrees with a direct count on ASCII text', () => {
    const words = ['alpha', 'beta', 'Gamma', 'delta42', 'e'];
    let big = '';
    for (let i = 0; i < 2000; i++) big += (words[(i * 7) % 5] ?? '') + (i % 11 === 0 ? '\n' : i % 3 ? ' ' : ', ');
    const buf = Buffer.from(big);
    const counts: Counts = new Map();
    for (let start = 0; start < buf.length; start += 997)
      countRange(buf, 0, start, Math.min(buf.length, start + 997), counts);
    expect(sorted(counts)).toEqual(sorted(directCount(big)));
  });
});

describe('partitioning', () => {
  it('is a stable hash: the same word lands in the same partition, always', () => {
    expect(partitionOf('the', 2)).toBe(partitionOf('the', 2));
    // FNV-1a 32-bit of "a" is 0xe40c292c.
    expect(partitionOf('a', 0x7fffffff)).toBe(0xe40c292c % 0x7fffffff);
    expect(partitionOf('', 7)).toBe(0x811c9dc5 % 7);
  });

  it('spreads words over all partitions and loses none', () => {
    const counts: Counts = new Map(Array.from({ length: 1000 }, (_, i) => [`w${i}`, i + 1] as const));
    const parts = partition(counts, 4);
    expect(parts.map((p) => p.size).reduce((a, b) => a + b, 0)).toBe(1000);
    for (const p of parts) expect(p.size).toBeGreaterThan(150);
    for (const [r, p] of parts.entries()) for (const w of p.keys()) expect(partitionOf(w, 4)).toBe(r);
  });
});

describe('merge', () => {
  it('sums the counts of a word over partitions, sorted by word', () => {
    const a = formatCounts(
      new Map([
        ['b', 2],
        ['a', 1],
      ]),
    );
    expect(a).toBe('a\t1\nb\t2\n');
    const b = formatCounts(
      new Map([
        ['c', 5],
        ['a', 3],
      ]),
    );
    expect(mergeCounts([a, b, ''])).toBe('a\t4\nb\t2\nc\t5\n');
    expect(sorted(parseCounts(mergeCounts([a, b])))).toEqual([
      ['a', 4],
      ['b', 2],
      ['c', 5],
    ]);
  });

  it('refuses lines that are not word counts', () => {
    expect(() => parseCounts('word\tmany\n')).toThrow(/not a word count line/);
    expect(() => parseCounts('nocount\n')).toThrow(/not a word count line/);
  });
});
