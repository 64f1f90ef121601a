import { describe, expect, it } from 'vitest';
import { RoundTrip } from './round-trip.js';

describe('RoundTrip', () => {
  it('waits the floor before any sample, then smoothed + 4 × variation (RFC 6298), within floor and ceiling', () => {
    const rtt = new RoundTrip(100, 2000);
    expect(rtt.timeoutMs()).toBe(100);
    expect(rtt.smoothed).toBeUndefined();
    rtt.sample(400); // first: smoothed 400, variation 200
    expect(rtt.smoothed).toBe(400);
    expect(rtt.timeoutMs()).toBe(1200);
    rtt.sample(400); // variation 150, smoothed 400
    expect(rtt.timeoutMs()).toBe(1000);
    for (let i = 0; i < 100; i++) rtt.sample(10);
    expect(rtt.timeoutMs()).toBe(100); // quick acknowledgements: back to the floor
    for (let i = 0; i < 100; i++) rtt.sample(5000);
    expect(rtt.timeoutMs()).toBe(2000); // never past the ceiling
  });

  it('ignores a negative or non-finite sample', () => {
    const rtt = new RoundTrip(100, 2000);
    rtt.sample(-5);
    rtt.sample(Number.NaN);
    rtt.sample(Number.POSITIVE_INFINITY);
    expect(rtt.smoothed).toBeUndefined();
    expect(rtt.timeoutMs()).toBe(100);
  });
});
