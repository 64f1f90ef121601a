/**
 * The DRF allocator as the master drives it: offers, launches, declines with filters, failover.
 */
import { describe, expect, it } from 'vitest';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { containsResources, emptyResources, parseResources, subtractResources } from '../../core/resources.js';
import { DrfAllocator } from './drf-allocator.js';

const agent = (id: string, spec: string) => ({
  id,
  hostname: id,
  total: parseResources(spec),
  attributes: [],
  pool: 'default',
});
const fw = (id: string, role = id) => ({ id, name: id, role });

describe('DRF allocator', () => {
  it('reproduces the DRF paper: A ⟨1 CPU, 4 GB⟩ runs 3 tasks, B ⟨3 CPU, 1 GB⟩ runs 2, both at share 2/3', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:9;mem:18GiB'), new Map());
    allocator.addFramework(fw('A'), new Map(), true);
    allocator.addFramework(fw('B'), new Map(), true);
    const demand: Record<string, Resources> = {
      A: parseResources('cpus:1;mem:4GiB'),
      B: parseResources('cpus:3;mem:1GiB'),
    };
    const running: Record<string, number> = { A: 0, B: 0 };
    // Each framework launches one task per offer and gives the rest back, as a framework would.
    for (let round = 0; round < 50; round++) {
      const offers = allocator.allocate();
      if (offers.length === 0) break;
      for (const offer of offers) {
        const task = demand[offer.frameworkId] ?? emptyResources();
        if (containsResources(offer.resources, task)) {
          running[offer.frameworkId] = (running[offer.frameworkId] ?? 0) + 1;
          allocator.recoverResources(offer.frameworkId, offer.agentId, subtractResources(offer.resources, task));
        } else {
          allocator.recoverResources(offer.frameworkId, offer.agentId, offer.resources, { refuseSeconds: 3600 });
        }
      }
    }
    expect(running).toEqual({ A: 3, B: 2 });
    expect(allocator.share('A')).toBeCloseTo(2 / 3);
    expect(allocator.share('B')).toBeCloseTo(2 / 3);
  });

  it('honours refuse filters until they expire, and REVIVE clears them', () => {
    let now = 0;
    const allocator = new DrfAllocator({ now: () => now });
    allocator.addAgent(agent('a1', 'cpus:1;mem:1GiB'), new Map());
    allocator.addFramework(fw('f'), new Map(), true);
    const [offer] = allocator.allocate();
    if (!offer) throw new Error('expected an offer');
    allocator.recoverResources('f', 'a1', offer.resources, {}); // default 5 s
    now = 4_999;
    expect(allocator.allocate()).toEqual([]);
    now = 5_000;
    const [again] = allocator.allocate();
    expect(again?.agentId).toBe('a1');
    allocator.recoverResources('f', 'a1', offer.resources, { refuseSeconds: 100 });
    expect(allocator.allocate()).toEqual([]);
    allocator.reviveOffers('f');
    expect(allocator.allocate()).toHaveLength(1);
  });

  it('offers nothing to suppressed or inactive frameworks, nor from inactive agents', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:1;mem:1GiB'), new Map());
    allocator.addFramework(fw('f'), new Map(), true);
    allocator.suppressOffers('f');
    expect(allocator.allocate()).toEqual([]);
    allocator.reviveOffers('f');
    allocator.deactivateFramework('f');
    expect(allocator.allocate()).toEqual([]);
    allocator.activateFramework('f');
    allocator.deactivateAgent('a1');
    expect(allocator.allocate()).toEqual([]);
    allocator.activateAgent('a1');
    expect(allocator.allocate()).toHaveLength(1);
  });

  it('does not offer less than the minimum allocatable size', () => {
    const allocator = new DrfAllocator({ minAllocatable: { cpus: 100, mem: 64 * 1024 ** 2 } });
    allocator.addAgent(agent('tiny', 'cpus:0.05;mem:16MiB'), new Map());
    allocator.addAgent(agent('ok', 'cpus:0.05;mem:128MiB'), new Map());
    allocator.addFramework(fw('f'), new Map(), true);
    expect(allocator.allocate().map((a) => a.agentId)).toEqual(['ok']);
  });

  it('frees what a removed framework held, and counts what a re-added one already uses', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:4;mem:4GiB'), new Map());
    allocator.addFramework(fw('old', 'r'), new Map([['a1', parseResources('cpus:3;mem:1GiB')]]), false);
    allocator.addFramework(fw('new', 'r'), new Map(), true);
    const [offer] = allocator.allocate();
    expect(offer?.resources).toEqual(parseResources('cpus:1;mem:3GiB'));
    expect(allocator.share('old')).toBeCloseTo(0.75);
    allocator.removeFramework('old');
    allocator.recoverResources('new', 'a1', offer?.resources ?? emptyResources());
    expect(allocator.allocate()[0]?.resources).toEqual(parseResources('cpus:4;mem:4GiB'));
  });

  it('refuses bad weights and unknown ids with coded errors', () => {
    const allocator = new DrfAllocator();
    expect(() => {
      allocator.setWeight('eng', 0);
    }).toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    expect(() => {
      allocator.setWeight('bad//role', 1);
    }).toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    expect(() => {
      allocator.suppressOffers('nope');
    }).toThrow(/GALAXY_E_FRAMEWORK_UNKNOWN/);
    expect(() => {
      allocator.addFramework(fw('f'), new Map([['ghost', emptyResources()]]), true);
    }).toThrow(/GALAXY_E_AGENT_UNKNOWN/);
    expect(allocator.share('f')).toBe(0); // nothing was added
  });

  it('shares among roles as Mesos does: eng/a and eng/b split eng, which competes with ops', () => {
    const allocator = new DrfAllocator();
    for (let i = 0; i < 100; i++) allocator.addAgent(agent(`a${i}`, 'cpus:1;mem:1GiB'), new Map());
    for (const role of ['eng/a', 'eng/b', 'ops']) allocator.addFramework(fw(role, role), new Map(), true);
    const count = (allocations: { frameworkId: string }[]) => {
      const out: Record<string, number> = {};
      for (const a of allocations) out[a.frameworkId] = (out[a.frameworkId] ?? 0) + 1;
      return out;
    };
    const first = allocator.allocate();
    expect(count(first)).toEqual({ 'eng/a': 25, 'eng/b': 25, ops: 50 });
    for (const a of first) allocator.recoverResources(a.frameworkId, a.agentId, a.resources);

    // A weight on the prefix moves the whole subtree against its sibling.
    allocator.setWeight('eng', 3);
    const second = allocator.allocate();
    expect(count(second)).toEqual({ 'eng/a': 38, 'eng/b': 37, ops: 25 });
    for (const a of second) allocator.recoverResources(a.frameworkId, a.agentId, a.resources);

    // A framework in role eng itself competes with eng/a and eng/b inside eng.
    allocator.addFramework(fw('eng', 'eng'), new Map(), true);
    const third = count(allocator.allocate());
    expect(third.ops).toBe(25);
    expect([third.eng, third['eng/a'], third['eng/b']].sort()).toEqual([25, 25, 25]);
  });

  it('still counts what a suppressed framework holds when sharing out the rest', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('big', 'cpus:8;mem:8GiB'), new Map());
    allocator.addFramework(fw('holder', 'r1'), new Map([['big', parseResources('cpus:6;mem:6GiB')]]), true);
    allocator.addFramework(fw('other', 'r2'), new Map(), true);
    allocator.addAgent(agent('small', 'cpus:1;mem:1GiB'), new Map());
    allocator.suppressOffers('holder');
    expect(allocator.share('holder')).toBeCloseTo(6 / 9);
    const offers = allocator.allocate();
    expect(offers.map((o) => o.frameworkId)).toEqual(['other', 'other']);
    allocator.reviveOffers('holder');
    for (const o of offers) allocator.recoverResources(o.frameworkId, o.agentId, o.resources);
    // Revived, holder still holds 6/9 while other holds 3/9: both agents go to other again.
    expect(allocator.allocate().map((o) => o.frameworkId)).toEqual(['other', 'other']);
  });

  it('forgets the filters of a framework that disconnects, as Mesos does', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:1;mem:1GiB'), new Map());
    allocator.addFramework(fw('f'), new Map(), true);
    const [offer] = allocator.allocate();
    allocator.recoverResources('f', 'a1', offer?.resources ?? emptyResources(), { refuseSeconds: 3600 });
    expect(allocator.allocate()).toEqual([]);
    allocator.deactivateFramework('f');
    allocator.activateFramework('f');
    expect(allocator.allocate()).toHaveLength(1);
  });

  it('offers a removed agent to nobody and its filters do not leak to an agent reusing its slot', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('old', 'cpus:1;mem:1GiB'), new Map());
    allocator.addFramework(fw('f'), new Map(), true);
    const [offer] = allocator.allocate();
    allocator.recoverResources('f', 'old', offer?.resources ?? emptyResources(), { refuseSeconds: 3600 });
    allocator.removeAgent('old');
    expect(allocator.allocate()).toEqual([]);
    allocator.addAgent(agent('new', 'cpus:1;mem:1GiB'), new Map());
    expect(allocator.allocate().map((a) => a.agentId)).toEqual(['new']);
  });

  it("orders a role's frameworks by their share of what the role holds, not of the cluster", () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:100;mem:20GiB'), new Map());
    // Of the cluster, cpu-heavy A (10 of 100 cpus) has the lower share than mem-heavy B (4 of
    // 20 GiB). Of what role r holds (12 cpus, 5 GiB), A has 10/12 and B 4/5: B goes first.
    allocator.addFramework(fw('A', 'r'), new Map([['a1', parseResources('cpus:10;mem:1GiB')]]), true);
    allocator.addFramework(fw('B', 'r'), new Map([['a1', parseResources('cpus:2;mem:4GiB')]]), true);
    expect(allocator.allocate().map((o) => o.frameworkId)).toEqual(['B']);
  });
});
