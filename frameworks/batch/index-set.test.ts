import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IndexSet } from './index-set.js';

describe('IndexSet', () => {
  it('keeps touching indexes as one range and answers membership', () => {
    const set = new IndexSet();
    for (const i of [3, 1, 2, 7, 0, 5]) set.add(i);
    expect(set.toJSON()).toEqual([
      [0, 4],
      [5, 6],
      [7, 8],
    ]);
    expect(set.add(2)).toBe(false);
    expect(set.add(6)).toBe(true);
    expect(set.toJSON()).toEqual([
      [0, 4],
      [5, 8],
    ]);
    set.add(4);
    expect(set.toJSON()).toEqual([[0, 8]]);
    expect(set.size).toBe(8);
    expect(set.has(7)).toBe(true);
    expect(set.has(8)).toBe(false);
  });

  it('behaves as a set of numbers, and survives a round trip through its stored form', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(200), { maxLength: 300 }), (indexes) => {
        const set = new IndexSet();
        const model = new Set<number>();
        for (const i of indexes) expect(set.add(i)).toBe(!model.has(i) && Boolean(model.add(i)));
        expect(set.values()).toEqual([...model].sort((a, b) => a - b));
        expect(set.size).toBe(model.size);
        const again = new IndexSet(JSON.parse(JSON.stringify(set.toJSON())) as [number, number][]);
        expect(again.values()).toEqual(set.values());
        for (let i = 0; i <= 201; i++) expect(set.has(i)).toBe(model.has(i));
      }),
    );
  });
});
