import { describe, expect, it } from 'vitest';
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
