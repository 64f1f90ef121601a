import { describe, expect, it } from 'vitest';
import { MasterEventLog } from '../events.js';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('allows a burst, then refills at its rate, never past the burst', () => {
    let now = 0;
    const bucket = new TokenBucket(20, 10, () => now);
    expect(bucket.take(20)).toBe(true);
    expect(bucket.take(1)).toBe(false);
    now = 500;
    expect(bucket.take(6)).toBe(false);
    expect(bucket.take(5)).toBe(true);
    now = 60_000;
    expect(bucket.available()).toBe(20);
  });
});

describe('MasterEventLog', () => {
  it('keeps the newest events up to its limit and filters by kind, time and count', () => {
    const log = new MasterEventLog(3);
    for (let i = 1; i <= 5; i++) log.add({ time: i, kind: i % 2 ? 'preemption' : 'other', reason: `e${i}` });
    expect(log.list().map((e) => e.reason)).toEqual(['e3', 'e4', 'e5']);
    expect(log.list('preemption').map((e) => e.reason)).toEqual(['e3', 'e5']);
    expect(log.list('', 4).map((e) => e.reason)).toEqual(['e4', 'e5']);
    expect(log.list('', 0, 1).map((e) => e.reason)).toEqual(['e5']);
  });
});
