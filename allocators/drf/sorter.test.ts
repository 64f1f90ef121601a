/**
 * The DRF sorter, specified by cases in the spirit of Mesos' `DRFSorter` and `WDRFSorter` tests
 * (src/tests/sorter_tests.cpp): order by weighted dominant share, then by allocation count, then
 * by name; hierarchical roles aggregate their subtree.
 */
import { describe, expect, it } from 'vitest';
import { DrfSorter } from './sorter.js';

/** A sorter over a 100-cpu / 100-mem cluster; allocations are [cpus, mem]. */
function sorter(): DrfSorter {
  const s = new DrfSorter();
  s.setTotal([100, 100, 0, 0]);
  return s;
}
const alloc = (s: DrfSorter, client: string, cpus: number, mem: number, count = 1) => {
  s.update(client, [cpus, mem, 0, 0], count);
};

describe('DrfSorter (DRF)', () => {
  it('orders clients by dominant share and lets newcomers go first', () => {
    const s = sorter();
    s.add('a');
    alloc(s, 'a', 5, 5);
    s.add('b');
    alloc(s, 'b', 6, 6);
    expect(s.sorted()).toEqual(['a', 'b']);
    s.add('c');
    expect(s.sorted()).toEqual(['c', 'a', 'b']);
    alloc(s, 'c', 1, 0); // dominant share 0.01
    s.add('d');
    alloc(s, 'd', 3, 1);
    expect(s.sorted()).toEqual(['c', 'd', 'a', 'b']);
    // Mem becomes a's dominant resource.
    alloc(s, 'a', 0, 10);
    expect(s.share('a')).toBeCloseTo(0.15);
    expect(s.sorted()).toEqual(['c', 'd', 'b', 'a']);
  });

  it('breaks ties by allocation count, then by name', () => {
    const s = sorter();
    for (const name of ['b', 'a', 'c']) s.add(name);
    expect(s.sorted()).toEqual(['a', 'b', 'c']);
    alloc(s, 'a', 5, 5, 2);
    alloc(s, 'b', 5, 5, 1);
    alloc(s, 'c', 5, 5, 1);
    expect(s.sorted()).toEqual(['b', 'c', 'a']);
  });

  it('recomputes every share when the totals change', () => {
    const s = sorter();
    s.add('cpu-heavy');
    s.add('mem-heavy');
    alloc(s, 'cpu-heavy', 10, 1);
    alloc(s, 'mem-heavy', 1, 20);
    expect(s.sorted()).toEqual(['cpu-heavy', 'mem-heavy']);
    s.setTotal([20, 100, 0, 0]); // cpus are now scarce: cpu-heavy's share is 0.5
    expect(s.sorted()).toEqual(['mem-heavy', 'cpu-heavy']);
    expect(s.share('cpu-heavy')).toBeCloseTo(0.5);
  });

  it('forgets a removed client and its allocation', () => {
    const s = sorter();
    s.add('a');
    s.add('b');
    alloc(s, 'a', 50, 0);
    s.remove('a');
    expect(s.sorted()).toEqual(['b']);
    s.add('a');
    expect(s.share('a')).toBe(0);
  });
});

describe('DrfSorter (WDRF)', () => {
  it('divides a share by the weight', () => {
    const s = sorter();
    s.add('a');
    s.add('b');
    s.setWeight('a', 2);
    alloc(s, 'a', 10, 10); // 0.1 / 2 = 0.05
    alloc(s, 'b', 6, 6); // 0.06
    expect(s.sorted()).toEqual(['a', 'b']);
    expect(s.share('a')).toBeCloseTo(0.05);
    alloc(s, 'a', 4, 0); // 0.14 / 2 = 0.07
    expect(s.sorted()).toEqual(['b', 'a']);
  });

  it('updates the order when a weight changes later', () => {
    const s = sorter();
    s.add('a');
    s.add('b');
    alloc(s, 'a', 10, 0);
    alloc(s, 'b', 8, 0);
    expect(s.sorted()).toEqual(['b', 'a']);
    s.setWeight('a', 4);
    expect(s.sorted()).toEqual(['a', 'b']);
  });
});

describe('DrfSorter (hierarchical roles)', () => {
  it('sorts parents by the allocation of their whole subtree', () => {
    const s = sorter();
    s.add('eng/a');
    s.add('eng/b');
    s.add('ops');
    alloc(s, 'eng/a', 10, 0);
    alloc(s, 'eng/b', 10, 0); // eng holds 0.2
    alloc(s, 'ops', 15, 0); // ops holds 0.15
    expect(s.sorted()).toEqual(['ops', 'eng/a', 'eng/b']);
    s.setWeight('eng', 2); // eng: 0.2 / 2 = 0.1 < 0.15
    expect(s.sorted()).toEqual(['eng/a', 'eng/b', 'ops']);
    alloc(s, 'eng/b', -5, 0);
    expect(s.sorted()).toEqual(['eng/b', 'eng/a', 'ops']);
  });

  it('keeps a role that has child roles as a virtual leaf beside them', () => {
    const s = sorter();
    s.add('eng');
    alloc(s, 'eng', 10, 0);
    s.add('eng/search');
    alloc(s, 'eng/search', 5, 0);
    s.add('ops');
    alloc(s, 'ops', 14, 0);
    // eng's subtree holds 0.15 > ops' 0.14; inside eng, search (0.05) precedes eng itself (0.10).
    expect(s.sorted()).toEqual(['ops', 'eng/search', 'eng']);
    expect(s.share('eng')).toBeCloseTo(0.1);
    s.remove('eng/search');
    expect(s.sorted()).toEqual(['eng', 'ops']);
  });
});
