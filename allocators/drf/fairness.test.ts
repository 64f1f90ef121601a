/**
 * DRF's fairness, as properties: under equal unbounded demand one pass leaves the dominant shares
 * equal up to one agent, and weights skew the shares in proportion.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../core/resources.js';
import { DrfAllocator } from './drf-allocator.js';

const agent = (id: string, spec: string) => ({
  id,
  hostname: id,
  total: parseResources(spec),
  attributes: [],
  pool: 'default',
});

describe('DRF fairness', () => {
  it('equalizes dominant shares under equal, unbounded demand (to within one agent)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 12 }),
        fc.integer({ min: 20, max: 200 }),
        fc.boolean(),
        (frameworks, agents, nested) => {
          const allocator = new DrfAllocator();
          for (let i = 0; i < agents; i++) allocator.addAgent(agent(`a${i}`, 'cpus:4;mem:8GiB'), new Map());
          // Each framework in its own role, flat or nested: with equal weights the tree is fair too.
          for (let i = 0; i < frameworks; i++)
            allocator.addFramework({ id: `f${i}`, name: `f${i}`, role: nested ? `r${i}/x` : `r${i}` }, new Map(), true);
          expect(allocator.allocate()).toHaveLength(agents);
          const shares = Array.from({ length: frameworks }, (_, i) => allocator.share(`f${i}`));
          expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1 / agents + 1e-9);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('skews shares in proportion to role weights', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 4 }), (weights) => {
        const agents = 240;
        const allocator = new DrfAllocator();
        for (let i = 0; i < agents; i++) allocator.addAgent(agent(`a${i}`, 'cpus:1;mem:1GiB'), new Map());
        weights.forEach((w, i) => {
          allocator.addFramework({ id: `f${i}`, name: `f${i}`, role: `r${i}` }, new Map(), true);
          allocator.setWeight(`r${i}`, w);
        });
        const counts = weights.map(() => 0);
        for (const a of allocator.allocate())
          counts[Number(a.frameworkId.slice(1))] = (counts[Number(a.frameworkId.slice(1))] ?? 0) + 1;
        // Each role's share divided by its weight is the same, up to one agent of rounding.
        const perWeight = counts.map((c, i) => c / agents / (weights[i] ?? 1));
        expect(Math.max(...perWeight) - Math.min(...perWeight)).toBeLessThanOrEqual(1 / agents + 1e-9);
        weights.forEach((w, i) => {
          expect(allocator.share(`f${i}`)).toBeCloseTo((counts[i] ?? 0) / agents / w, 9);
        });
      }),
      { numRuns: 30 },
    );
  });
});
