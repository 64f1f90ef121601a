/**
 * Ids that name what a caller may act on (frameworks, offers) cannot be guessed from one another:
 * 128 random bits each, not a counter.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { IDS_PER_DRAW, UNGUESSABLE_BITS, UnguessableIdGenerator } from './ids.js';

describe('unguessable ids', () => {
  it('carry a prefix and 128 random bits, and never repeat', () => {
    const ids = new UnguessableIdGenerator('offer');
    const seen = new Set(Array.from({ length: 10_000 }, () => ids.next()));
    expect(seen.size).toBe(10_000);
    for (const id of [...seen].slice(0, 100)) expect(id).toMatch(/^offer-[0-9a-f]{32}$/);
    expect(UNGUESSABLE_BITS).toBeGreaterThanOrEqual(96);
  });

  it('share nothing between consecutive ids but the prefix', () => {
    const ids = new UnguessableIdGenerator('fw');
    const [a, b] = [ids.next().slice(3), ids.next().slice(3)];
    // Consecutive counters would share most digits; random ids agree in about 1 of 16 places.
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same += 1;
    expect(same).toBeLessThan(16);
  });

  it('draws its random bits in pools, not one call per id (a master makes thousands per pass)', () => {
    const draws: number[] = [];
    const ids = new UnguessableIdGenerator('offer', (bytes) => {
      draws.push(bytes);
      return randomBytes(bytes);
    });
    const made = Array.from({ length: 3 * IDS_PER_DRAW }, () => ids.next());
    expect(new Set(made).size).toBe(made.length);
    expect(draws).toEqual([16 * IDS_PER_DRAW, 16 * IDS_PER_DRAW, 16 * IDS_PER_DRAW]);
  });

  it('uses every drawn byte once, in order', () => {
    const pool = Buffer.from(Array.from({ length: 16 * IDS_PER_DRAW }, (_, i) => i % 256));
    const ids = new UnguessableIdGenerator('fw', () => Buffer.from(pool));
    expect(ids.next()).toBe(`fw-${pool.toString('hex', 0, 16)}`);
    expect(ids.next()).toBe(`fw-${pool.toString('hex', 16, 32)}`);
  });
});
