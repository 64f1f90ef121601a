/**
 * Quotas in the DRF allocator, after the scenarios of Mesos' hierarchical allocator tests
 * (guarantee provided, absent framework, limits, DRF among quota roles), in Galaxy's terms.
 */
import { describe, expect, it } from 'vitest';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { addResources, emptyResources, parseResources } from '../../core/resources.js';
import type { Allocation } from '../allocator.js';
import { DrfAllocator } from './drf-allocator.js';

const GiB = 1024 ** 3;
const agent = (id: string, spec: string) => ({
  id,
  hostname: id,
  total: parseResources(spec),
  attributes: [],
  pool: 'default',
});
const fw = (id: string, role: string) => ({ id, name: id, role });

/** Sums what each framework was offered. */
function byFramework(offers: Allocation[]): Map<string, Resources> {
  const sums = new Map<string, Resources>();
  for (const o of offers)
    sums.set(o.frameworkId, addResources(sums.get(o.frameworkId) ?? emptyResources(), o.resources));
  return sums;
}

describe('DRF allocator quotas', () => {
  it('serves a role below its guarantee first, even when another role has the lower share', () => {
    const allocator = new DrfAllocator();
    for (const id of ['a1', 'a2', 'a3', 'a4']) allocator.addAgent(agent(id, 'cpus:2;mem:2GiB'), new Map());
    // `idle` holds nothing (share 0); `prod` already holds one agent but is guaranteed 6 cpus.
    allocator.addFramework(fw('prod-fw', 'prod'), new Map([['a1', parseResources('cpus:2;mem:2GiB')]]), true);
    allocator.addFramework(fw('idle-fw', 'idle'), new Map(), true);
    allocator.setQuota('prod', { guarantee: { cpus: 6000, mem: 6 * GiB } });
    const offers = allocator.allocate();
    const got = byFramework(offers);
    // Guarantee 6 cpus, holds 2: gets 4 more; only what is left goes to `idle`.
    expect(got.get('prod-fw')?.cpus).toBe(4000);
    expect(got.get('idle-fw')?.cpus).toBe(2000);
    expect(offers.findIndex((o) => o.frameworkId === 'prod-fw')).toBeLessThan(
      offers.findIndex((o) => o.frameworkId === 'idle-fw'),
    );
  });

  it('sets aside the unmet guarantee of a role whose framework is absent, and releases it once met', () => {
    const allocator = new DrfAllocator();
    for (const id of ['a1', 'a2']) allocator.addAgent(agent(id, 'cpus:4;mem:4GiB'), new Map());
    allocator.setQuota('prod', { guarantee: { cpus: 3000, mem: 3 * GiB } });
    allocator.addFramework(fw('dev-fw', 'dev'), new Map(), true);
    const dev = byFramework(allocator.allocate()).get('dev-fw');
    // 8 cpus, 8 GiB in all; 3 cpus and 3 GiB are held back for the absent `prod`.
    expect(dev).toMatchObject({ cpus: 5000, mem: 5 * GiB });
    expect(allocator.allocate()).toEqual([]);
    // prod's framework arrives: it gets exactly the set-aside resources.
    allocator.addFramework(fw('prod-fw', 'prod'), new Map(), true);
    const prod = byFramework(allocator.allocate()).get('prod-fw');
    expect(prod).toMatchObject({ cpus: 3000, mem: 3 * GiB });
  });

  it('keeps the guarantee aside while the guaranteed framework is suppressed', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:4;mem:4GiB'), new Map());
    allocator.addFramework(fw('prod-fw', 'prod'), new Map(), true);
    allocator.suppressOffers('prod-fw');
    allocator.addFramework(fw('dev-fw', 'dev'), new Map(), true);
    allocator.setQuota('prod', { guarantee: { cpus: 1000, mem: GiB } });
    expect(byFramework(allocator.allocate()).get('dev-fw')).toMatchObject({ cpus: 3000, mem: 3 * GiB });
    allocator.reviveOffers('prod-fw');
    expect(byFramework(allocator.allocate()).get('prod-fw')).toMatchObject({ cpus: 1000, mem: GiB });
  });

  it('never lets a role subtree pass its limit, across many passes with churn', () => {
    const allocator = new DrfAllocator();
    for (let i = 0; i < 6; i++) allocator.addAgent(agent(`a${i}`, 'cpus:4;mem:8GiB'), new Map());
    allocator.addFramework(fw('search', 'eng/search'), new Map(), true);
    allocator.addFramework(fw('ads', 'eng/ads'), new Map(), true);
    allocator.addFramework(fw('ops', 'ops'), new Map(), true);
    allocator.setQuota('eng', { limit: { cpus: 5000, mem: 9 * GiB } });
    const held = new Map<string, Resources>();
    const hold = (o: Allocation, r: Resources) =>
      held.set(o.frameworkId, addResources(held.get(o.frameworkId) ?? emptyResources(), r));
    for (let pass = 0; pass < 40; pass++) {
      for (const offer of allocator.allocate()) {
        // Keep a slice of each offer (a task), give the rest back.
        const task = { ...offer.resources, cpus: Math.min(offer.resources.cpus, 1000), ports: [] };
        task.mem = Math.min(offer.resources.mem, 2 * GiB);
        hold(offer, task);
        allocator.recoverResources(offer.frameworkId, offer.agentId, {
          ...offer.resources,
          cpus: offer.resources.cpus - task.cpus,
          mem: offer.resources.mem - task.mem,
        });
      }
      const eng = addResources(held.get('search') ?? emptyResources(), held.get('ads') ?? emptyResources());
      expect(eng.cpus).toBeLessThanOrEqual(5000);
      expect(eng.mem).toBeLessThanOrEqual(9 * GiB);
      if (pass % 7 === 6) {
        // A task of `search` ends somewhere.
        const [first] = allocator.allocate();
        if (first) allocator.recoverResources(first.frameworkId, first.agentId, first.resources);
      }
    }
    const eng = addResources(held.get('search') ?? emptyResources(), held.get('ads') ?? emptyResources());
    // The limit was reached (mem caps at 9 GiB in 2 GiB slices + a 1 GiB remainder), not just respected.
    expect(eng.mem).toBe(9 * GiB);
    expect(held.get('ops')?.cpus).toBeGreaterThan(0);
  });

  it('orders roles below their guarantee by DRF among themselves', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('big', 'cpus:10;mem:10GiB'), new Map());
    allocator.addFramework(fw('x', 'x'), new Map([['big', parseResources('cpus:3;mem:3GiB')]]), true);
    allocator.addFramework(fw('y', 'y'), new Map([['big', parseResources('cpus:1;mem:1GiB')]]), true);
    allocator.setQuota('x', { guarantee: { cpus: 10000, mem: 10 * GiB } });
    allocator.setQuota('y', { guarantee: { cpus: 10000, mem: 10 * GiB } });
    // Both are far below their guarantee (together more than the cluster): y has the lower share,
    // so it is served first, up to its own unmet guarantee (9 cpus: all 6 free ones).
    const offers = allocator.allocate();
    expect(offers).toHaveLength(1);
    expect(offers[0]).toMatchObject({ frameworkId: 'y', resources: { cpus: 6000, mem: 6 * GiB } });
  });

  it('cuts one agent into a guaranteed part and a fair-share part for others', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:8;mem:8GiB'), new Map());
    allocator.addFramework(fw('prod-fw', 'prod'), new Map(), true);
    allocator.addFramework(fw('dev-fw', 'dev'), new Map(), true);
    allocator.setQuota('prod', { guarantee: { cpus: 2000, mem: 2 * GiB }, limit: { cpus: 2000, mem: 2 * GiB } });
    const got = byFramework(allocator.allocate());
    expect(got.get('prod-fw')).toMatchObject({ cpus: 2000, mem: 2 * GiB });
    expect(got.get('dev-fw')).toMatchObject({ cpus: 6000, mem: 6 * GiB });
  });

  it('validates quotas and lists them; removing a quota lifts its limit', () => {
    const allocator = new DrfAllocator();
    expect(() => {
      allocator.setQuota('bad role', { limit: { cpus: 1 } });
    }).toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    expect(() => {
      allocator.setQuota('r', { guarantee: { cpus: 2 }, limit: { cpus: 1 } });
    }).toThrow(/exceeds its limit/);
    expect(() => {
      allocator.setQuota('r', { limit: { cpus: -1 } });
    }).toThrow(/non-negative/);
    allocator.setQuota('r', { limit: { cpus: 1000 } });
    expect(allocator.quotas()).toEqual([{ role: 'r', limit: { cpus: 1000 } }]);
    allocator.addAgent(agent('a1', 'cpus:4;mem:4GiB'), new Map());
    allocator.addFramework(fw('f', 'r'), new Map(), true);
    expect(allocator.allocate()[0]?.resources.cpus).toBe(1000);
    allocator.removeQuota('r');
    expect(allocator.quotas()).toEqual([]);
    expect(allocator.allocate()[0]?.resources.cpus).toBe(3000);
  });
});
