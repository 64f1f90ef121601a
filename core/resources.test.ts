import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGalaxyError } from './errors.js';
import { addRanges, containsRanges, countRanges, subtractRanges } from './ranges.js';
import { addResources, containsResources, formatResources, parseResources, subtractResources } from './resources.js';

describe('resources', () => {
  it('parses the agent flag format into integers', () => {
    expect(parseResources('cpus:2.5;mem:4GiB;disk:10GiB;ports:[31000-31009,32000]')).toEqual({
      cpus: 2500,
      mem: 4 * 1024 ** 3,
      disk: 10 * 1024 ** 3,
      gpus: 0,
      ports: [
        { begin: 31000, end: 31009 },
        { begin: 32000, end: 32000 },
      ],
    });
  });

  it('names the bad part of a malformed spec', () => {
    for (const [spec, hint] of [
      ['cpus:abc', 'cpus'],
      ['mem:12 parsecs', 'mem'],
      ['mem:512', 'mem: "512" has no unit'],
      ['ports:[2-1]', 'port range'],
      ['cpus', 'name:value'],
      ['bananas:3', 'unknown resource "bananas"'],
      ['ports:[70000]', 'port range'],
    ] as const) {
      expect(() => parseResources(spec)).toThrow(hint);
    }
  });

  it('fuzz: any input either parses to valid integers or throws a coded error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (text) => {
        try {
          const r = parseResources(text);
          expect(Number.isSafeInteger(r.cpus) && r.cpus >= 0).toBe(true);
          expect(Number.isSafeInteger(r.mem) && r.mem >= 0).toBe(true);
        } catch (error) {
          expect(isGalaxyError(error, 'GALAXY_E_INVALID_RESOURCES')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('adds, subtracts and compares, ports included', () => {
    const a = parseResources('cpus:2;mem:1GiB;ports:[100-199]');
    const b = parseResources('cpus:0.5;mem:256MiB;ports:[150-159]');
    const left = subtractResources(a, b);
    expect(formatResources(left)).toBe('cpus:1.5 mem:768MiB disk:0B ports:100-149,160-199');
    expect(containsResources(a, b)).toBe(true);
    expect(containsResources(left, b)).toBe(false);
    expect(addResources(left, b)).toEqual(a);
  });

  it('range algebra: (a ∪ b) − b ⊆ a and counts add up', () => {
    const range = fc
      .tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 50 }))
      .map(([b, len]) => ({ begin: b, end: b + len }));
    fc.assert(
      fc.property(fc.array(range, { maxLength: 6 }), fc.array(range, { maxLength: 6 }), (a, b) => {
        const union = addRanges(a, b);
        expect(containsRanges(union, a) && containsRanges(union, b)).toBe(true);
        const diff = subtractRanges(union, b);
        expect(containsRanges(a, diff)).toBe(true);
        expect(countRanges(diff) + countRanges(addRanges(b, []))).toBe(countRanges(union));
      }),
    );
  });
});
