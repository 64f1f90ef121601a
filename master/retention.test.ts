/**
 * Records of what is gone are kept for the retention period and never beyond the bound: the
 * oldest go first, a refreshed key counts from its refresh.
 */
import { describe, expect, it } from 'vitest';
import { RetainedSet } from './retention.js';

describe('RetainedSet', () => {
  it('forgets a key after the retention period', () => {
    let now = 0;
    const set = new RetainedSet(1000, 100, () => now);
    set.add('fw-1');
    now = 999;
    expect(set.has('fw-1')).toBe(true);
    now = 1000;
    expect(set.has('fw-1')).toBe(false);
    set.prune();
    expect(set.size).toBe(0);
  });

  it('holds at most its bound, forgetting the oldest first', () => {
    let now = 0;
    const set = new RetainedSet(1_000_000, 3, () => now);
    for (const key of ['a', 'b', 'c', 'd', 'e']) {
      now += 1;
      set.add(key);
    }
    expect([...set]).toEqual(['c', 'd', 'e']);
  });

  it('counts a re-added key from the new time', () => {
    let now = 0;
    const set = new RetainedSet(1000, 10, () => now);
    set.add('a');
    set.add('b');
    now = 900;
    set.add('a');
    now = 1500;
    set.prune();
    expect([...set]).toEqual(['a']);
    expect(set.delete('a')).toBe(true);
    expect(set.has('a')).toBe(false);
  });

  it('stays bounded whatever is added', () => {
    let now = 0;
    const set = new RetainedSet(50, 20, () => now);
    for (let i = 0; i < 10_000; i += 1) {
      now += i % 7;
      set.add(`k${i % 300}`);
      expect(set.size).toBeLessThanOrEqual(20);
    }
  });
});
