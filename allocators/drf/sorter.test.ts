/**
 * The DRF sorter, specified by the cases of Mesos' `DRFSorterTest` (src/tests/sorter_tests.cpp),
 * retold against this sorter: order by weighted dominant share, then allocation count, then path;
 * hierarchical roles aggregate their subtree; inactive clients keep their allocation but are not
 * listed. Quantities are unit-less (the sorter only divides them by the totals); allocations are
 * ⟨cpus, mem⟩ over a 100 / 100 cluster unless a case says otherwise.
 */
import { describe, expect, it } from 'vitest';
import { DrfSorter } from './sorter.js';

function cluster(cpus = 100, mem = 100): DrfSorter {
  const s = new DrfSorter();
  s.setTotal([cpus, mem, 0, 0]);
  return s;
}
/** Mesos' `allocated`: more resources, and one more allocation for the tie-break. */
function allocated(s: DrfSorter, client: string, cpus: number, mem: number): void {
  s.update(client, [cpus, mem, 0, 0], 1);
}
/** Mesos' `unallocated`: resources given back; the allocation count does not go down. */
function unallocated(s: DrfSorter, client: string, cpus: number, mem: number): void {
  s.update(client, [-cpus, -mem, 0, 0], 0);
}
/** Mesos' `add` + `activate`, and an allocation. */
function client(s: DrfSorter, name: string, cpus: number, mem: number): void {
  s.add(name);
  allocated(s, name, cpus, mem);
}

/**
 * Mesos' `DRF` scenario. `ShallowHierarchy` and `DeepHierarchy` replay it with every client
 * nested in its own branch: with disjoint branches the hierarchy must not change the order.
 */
function drfScenario(n: (flat: string) => string): void {
  const order = (...flat: string[]) => flat.map(n);
  const s = cluster();
  expect(s.sorted()).toEqual([]);
  client(s, n('a'), 5, 5);
  client(s, n('b'), 6, 6);
  expect(s.sorted()).toEqual(order('a', 'b')); // a .05, b .06

  client(s, n('c'), 1, 1);
  client(s, n('d'), 3, 1);
  expect(s.sorted()).toEqual(order('c', 'd', 'a', 'b')); // c .01, d .03

  s.remove(n('a'));
  unallocated(s, n('b'), 4, 4);
  expect(s.sorted()).toEqual(order('c', 'b', 'd')); // b .02

  client(s, n('e'), 1, 5);
  s.setTotal([50, 100, 0, 0]); // the agent shrank: cpus are scarcer
  expect(s.sorted()).toEqual(order('c', 'b', 'e', 'd')); // c .02, b .04, e .05, d .06

  s.setTotal([50, 200, 0, 0]);
  client(s, n('f'), 5, 1);
  allocated(s, n('c'), 0, 15); // mem becomes c's dominant resource
  expect(s.sorted()).toEqual(order('e', 'b', 'd', 'c', 'f')); // e .025, b .04, d .06, c .08, f .1

  expect(s.has(n('b'))).toBe(true);
  expect(s.has(n('a'))).toBe(false);
  expect(s.size).toBe(5);

  s.deactivate(n('d'));
  expect(s.has(n('d'))).toBe(true);
  expect(s.sorted()).toEqual(order('e', 'b', 'c', 'f'));
  expect(s.size).toBe(5);

  s.activate(n('d'));
  expect(s.sorted()).toEqual(order('e', 'b', 'd', 'c', 'f'));
}

describe('DrfSorter: DRF', () => {
  it('orders clients by dominant share as allocations, clients and totals change (DRF)', () => {
    drfScenario((x) => x);
  });

  it('is unchanged by a shallow hierarchy of disjoint branches (ShallowHierarchy)', () => {
    drfScenario((x) => `${x}/${x}`);
  });

  it('is unchanged by a deep hierarchy of disjoint branches (DeepHierarchy)', () => {
    const depth: Record<string, number> = { a: 5, b: 4, c: 3, d: 2, e: 6, f: 2 };
    drfScenario((x) =>
      Array<string>(depth[x] ?? 1)
        .fill(x)
        .join('/'),
    );
  });

  it('breaks share ties by allocation count, which only ever grows (AllocationCountTieBreak)', () => {
    const s = cluster();
    for (const name of ['a', 'b', 'c', 'd', 'e']) s.add(name);
    allocated(s, 'a', 3, 3);
    allocated(s, 'b', 3, 3);
    for (let i = 0; i < 3; i++) allocated(s, 'c', 1, 1);
    allocated(s, 'd', 2, 2);
    allocated(s, 'd', 1, 1);
    allocated(s, 'e', 3, 3);
    // counts: a, b, e = 1; d = 2; c = 3
    expect(s.sorted()).toEqual(['a', 'b', 'e', 'd', 'c']);

    unallocated(s, 'c', 3, 3);
    expect(s.sorted()).toEqual(['c', 'a', 'b', 'e', 'd']);
    allocated(s, 'c', 3, 3); // c = 4: giving back did not reset the count
    expect(s.sorted()).toEqual(['a', 'b', 'e', 'd', 'c']);

    s.deactivate('c');
    s.activate('c'); // nor does a deactivation
    expect(s.sorted()).toEqual(['a', 'b', 'e', 'd', 'c']);

    s.deactivate('a');
    unallocated(s, 'a', 1, 3);
    allocated(s, 'a', 1, 3); // an inactive client's allocations count too
    expect(s.sorted()).toEqual(['b', 'e', 'd', 'c']);
    s.activate('a');
    expect(s.sorted()).toEqual(['b', 'e', 'a', 'd', 'c']);
  });

  it('re-sorts every client when the totals change (UpdateTotal)', () => {
    const s = cluster(10, 100);
    client(s, 'a', 2, 1); // .2 of cpus
    client(s, 'b', 1, 2); // .1 of cpus
    expect(s.sorted()).toEqual(['b', 'a']);
    s.setTotal([100, 10, 0, 0]); // now mem is scarce: a .1, b .2
    expect(s.sorted()).toEqual(['a', 'b']);
    expect(s.share('b')).toBeCloseTo(0.2);
  });

  it('treats names as opaque when not hierarchical (the frameworks of one role)', () => {
    const s = new DrfSorter({ hierarchical: false });
    s.setTotal([100, 100, 0, 0]);
    client(s, 'x/1', 5, 0);
    client(s, 'x', 1, 0);
    expect(s.sorted()).toEqual(['x', 'x/1']);
    expect(s.share('x/1')).toBeCloseTo(0.05);
  });
});

describe('DrfSorter: weighted DRF', () => {
  it('divides each share by the client weight (WDRF)', () => {
    const s = cluster();
    client(s, 'a', 5, 5);
    s.add('b');
    s.setWeight('b', 2);
    allocated(s, 'b', 6, 6);
    expect(s.sorted()).toEqual(['b', 'a']); // a .05, b .03

    client(s, 'c', 4, 4);
    expect(s.sorted()).toEqual(['b', 'c', 'a']); // c .04

    s.add('d');
    s.setWeight('d', 10);
    allocated(s, 'd', 10, 20);
    expect(s.sorted()).toEqual(['d', 'b', 'c', 'a']); // d .02

    s.remove('b');
    expect(s.sorted()).toEqual(['d', 'c', 'a']);

    allocated(s, 'd', 10, 25);
    expect(s.sorted()).toEqual(['c', 'd', 'a']); // d .045

    s.add('e');
    s.setWeight('e', 0.1);
    allocated(s, 'e', 1, 1);
    expect(s.sorted()).toEqual(['c', 'd', 'a', 'e']); // e .1

    s.remove('a');
    expect(s.sorted()).toEqual(['c', 'd', 'e']);
  });

  it('re-sorts when a weight changes later (UpdateWeight)', () => {
    const s = cluster();
    client(s, 'a', 5, 5);
    client(s, 'b', 6, 6);
    expect(s.sorted()).toEqual(['a', 'b']);
    s.setWeight('b', 2);
    expect(s.sorted()).toEqual(['b', 'a']);
  });

  it('weighs whole subtrees by the weight of their prefix (ChangeWeightOnSubtree)', () => {
    const s = cluster();
    s.setWeight('b', 3);
    s.setWeight('a', 2);
    s.add('a/x');
    s.add('b/y');
    expect(s.sorted()).toEqual(['a/x', 'b/y']);

    allocated(s, 'a/x', 10, 10);
    allocated(s, 'b/y', 10, 10);
    expect(s.sorted()).toEqual(['b/y', 'a/x']); // a .10/2, b .10/3

    client(s, 'b/z', 5, 5);
    // a = .10/2 and b = .15/3 are equal on paper; in floating point .15/3 is the smaller, as in Mesos.
    expect(s.sorted()).toEqual(['b/z', 'b/y', 'a/x']);

    client(s, 'b', 4, 4); // b's subtree: .19/3; inside it the client b competes at weight 1
    expect(s.sorted()).toEqual(['a/x', 'b', 'b/z', 'b/y']);

    client(s, 'a/zz', 2, 2); // a's subtree: .12/2
    expect(s.sorted()).toEqual(['a/zz', 'a/x', 'b', 'b/z', 'b/y']);
  });
});

describe('DrfSorter: hierarchy', () => {
  it('sums subtrees into their prefix and orders depth first (HierarchicalAllocation)', () => {
    const s = cluster();
    for (const name of ['a', 'b/c', 'b/d']) s.add(name);
    expect(s.size).toBe(3);
    expect(s.has('b')).toBe(false); // a prefix is not a client
    expect(s.sorted()).toEqual(['a', 'b/c', 'b/d']);

    allocated(s, 'a', 6, 6);
    expect(s.sorted()).toEqual(['b/c', 'b/d', 'a']);

    allocated(s, 'b/c', 4, 4);
    allocated(s, 'b/d', 3, 3);
    expect(s.sorted()).toEqual(['a', 'b/d', 'b/c']); // b .07 > a .06

    allocated(s, 'a', 2, 2);
    expect(s.sorted()).toEqual(['b/d', 'b/c', 'a']);

    s.add('b/e/f');
    expect(s.has('b/e')).toBe(false);
    expect(s.sorted()).toEqual(['b/e/f', 'b/d', 'b/c', 'a']);

    allocated(s, 'b/e/f', 3.5, 3.5);
    expect(s.sorted()).toEqual(['a', 'b/d', 'b/e/f', 'b/c']); // b .105 > a .08

    s.remove('b/e/f'); // its allocation leaves b's share
    expect(s.size).toBe(3);
    expect(s.sorted()).toEqual(['b/d', 'b/c', 'a']);

    s.update('b/c', [-3, -3, 0, 0], 0); // an allocation shrinks in place
    expect(s.sorted()).toEqual(['b/c', 'b/d', 'a']);

    client(s, 'b/e/f', 3.5, 3.5);
    expect(s.sorted()).toEqual(['b/c', 'b/d', 'b/e/f', 'a']);
    expect(s.size).toBe(4);
  });

  it('walks the tree in the right order (HierarchicalIterationOrder)', () => {
    const s = cluster();
    for (const name of ['a/b', 'c', 'd', 'd/e']) s.add(name);
    expect(s.sorted()).toEqual(['a/b', 'c', 'd', 'd/e']);
    allocated(s, 'c', 8, 8);
    expect(s.sorted()).toEqual(['a/b', 'd', 'd/e', 'c']);
    allocated(s, 'd', 3, 3);
    allocated(s, 'd/e', 2, 2);
    expect(s.sorted()).toEqual(['a/b', 'd/e', 'd', 'c']);
    allocated(s, 'a/b', 6, 6);
    expect(s.sorted()).toEqual(['d/e', 'd', 'a/b', 'c']);
  });

  it('turns a leaf into a prefix when a child is added; the old client competes at weight 1 (AddChildToLeaf)', () => {
    const s = cluster();
    client(s, 'a', 10, 10);
    client(s, 'b', 6, 6);
    expect(s.sorted()).toEqual(['b', 'a']);

    client(s, 'a/c', 5, 5); // subtree a (.15) against b; inside, a (.10) against a/c (.05)
    expect(s.sorted()).toEqual(['b', 'a/c', 'a']);

    s.remove('a');
    expect(s.has('a')).toBe(false);
    expect(s.sorted()).toEqual(['a/c', 'b']);

    client(s, 'a', 10, 10);
    expect(s.sorted()).toEqual(['b', 'a/c', 'a']);

    s.setWeight('a/c', 0.2);
    expect(s.sorted()).toEqual(['b', 'a', 'a/c']);
    s.setWeight('a', 3); // moves the subtree against b, not the client a against a/c
    expect(s.sorted()).toEqual(['a', 'a/c', 'b']);
    s.setWeight('a/c', 1);
    expect(s.sorted()).toEqual(['a/c', 'a', 'b']);
  });

  it('adds a client at the path of an existing prefix (AddChildToInternal)', () => {
    const s = cluster();
    client(s, 'x/a', 10, 10);
    client(s, 'x/b', 6, 6);
    expect(s.sorted()).toEqual(['x/b', 'x/a']);
    client(s, 'x', 7, 7);
    expect(s.sorted()).toEqual(['x/b', 'x', 'x/a']);
    client(s, 'z', 20, 20);
    expect(s.sorted()).toEqual(['z', 'x/b', 'x', 'x/a']); // x .23 > z .20
    s.remove('x');
    expect(s.sorted()).toEqual(['x/b', 'x/a', 'z']);
  });

  it('keeps an inactive client inactive when it gains children (AddChildToInactiveLeaf)', () => {
    const s = cluster();
    client(s, 'a', 10, 10);
    client(s, 'b', 6, 6);
    s.deactivate('a');
    expect(s.sorted()).toEqual(['b']);
    client(s, 'a/c', 5, 5);
    expect(s.sorted()).toEqual(['b', 'a/c']);
  });

  it('lists the same clients after a child leaves as before it came (RemoveLeafCollapseParent)', () => {
    const s = cluster();
    client(s, 'a', 10, 10);
    client(s, 'b', 6, 6);
    client(s, 'a/c', 5, 5);
    expect(s.sorted().sort()).toEqual(['a', 'a/c', 'b']);
    s.remove('a/c');
    expect(s.sorted().sort()).toEqual(['a', 'b']);
  });

  it('keeps the prefix inactive when its last child leaves (RemoveLeafCollapseParentInactive)', () => {
    const s = cluster();
    client(s, 'a', 10, 10);
    client(s, 'b', 6, 6);
    client(s, 'a/c', 5, 5);
    s.deactivate('a');
    expect(s.sorted().sort()).toEqual(['a/c', 'b']);
    s.remove('a/c');
    expect(s.sorted()).toEqual(['b']);
    expect(s.activeCount).toBe(1);
  });
});
