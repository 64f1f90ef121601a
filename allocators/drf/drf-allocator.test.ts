/**
 * The DRF allocator as the master drives it: offers, launches, declines with filters, failover.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { containsResources, emptyResources, parseResources, subtractResources } from '../../core/resources.js';
import type { Allocator } from '../allocator.js';
import { BUILTIN_ALLOCATORS } from '../index.js';
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
});

/** Random operations on any allocator; the model tracks what each framework holds per agent. */
type Op =
  | { kind: 'allocate' }
  | { kind: 'recover'; pick: number; fraction: number; filter: boolean }
  | { kind: 'removeAgent'; agent: number }
  | { kind: 'addAgent'; agent: number }
  | { kind: 'removeFramework'; framework: number }
  | { kind: 'addFramework'; framework: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('recover' as const),
      pick: fc.nat(),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      filter: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeAgent' as const), agent: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('addAgent' as const), agent: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeFramework' as const), framework: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('addFramework' as const), framework: fc.nat(3) }) },
);

function scale(r: Resources, f: number): Resources {
  return {
    cpus: Math.floor(r.cpus * f),
    mem: Math.floor(r.mem * f),
    disk: Math.floor(r.disk * f),
    gpus: 0,
    ports: r.ports.slice(0, Math.floor(r.ports.length * f)),
  };
}

describe.each(Object.keys(BUILTIN_ALLOCATORS))('%s allocator properties', (name) => {
  const create = (): Allocator => BUILTIN_ALLOCATORS[name]?.create({}) ?? new DrfAllocator();

  it('never offers more than an agent has free', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => {
        const allocator = create();
        const totals = [0, 1, 2, 3, 4].map((i) =>
          parseResources(`cpus:${i + 1};mem:${(i + 1) * 512}MiB;ports:[${31000 + i * 10}-${31009 + i * 10}]`),
        );
        const agents = new Set<number>();
        const frameworks = new Set<number>();
        const held: { fw: number; agent: number; r: Resources }[] = [];
        for (const op of ops) {
          if (op.kind === 'addAgent' && !agents.has(op.agent)) {
            allocator.addAgent(agent(`a${op.agent}`, 'cpus:0'), new Map());
            allocator.updateAgent(`a${op.agent}`, totals[op.agent] ?? emptyResources());
            agents.add(op.agent);
          } else if (op.kind === 'removeAgent' && agents.has(op.agent)) {
            allocator.removeAgent(`a${op.agent}`);
            agents.delete(op.agent);
            for (let i = held.length - 1; i >= 0; i--) if (held[i]?.agent === op.agent) held.splice(i, 1);
          } else if (op.kind === 'addFramework' && !frameworks.has(op.framework)) {
            allocator.addFramework(fw(`f${op.framework}`, op.framework % 2 ? 'eng/x' : 'ops'), new Map(), true);
            frameworks.add(op.framework);
          } else if (op.kind === 'removeFramework' && frameworks.has(op.framework)) {
            allocator.removeFramework(`f${op.framework}`);
            frameworks.delete(op.framework);
            for (let i = held.length - 1; i >= 0; i--) if (held[i]?.fw === op.framework) held.splice(i, 1);
          } else if (op.kind === 'allocate') {
            for (const a of allocator.allocate()) {
              held.push({ fw: Number(a.frameworkId.slice(1)), agent: Number(a.agentId.slice(1)), r: a.resources });
            }
          } else if (op.kind === 'recover' && held.length > 0) {
            const i = op.pick % held.length;
            const h = held[i];
            if (!h) continue;
            const back = scale(h.r, op.fraction);
            allocator.recoverResources(`f${h.fw}`, `a${h.agent}`, back, op.filter ? { refuseSeconds: 1 } : undefined);
            const left = subtractResources(h.r, back);
            held.splice(i, 1, { ...h, r: left });
          }
          // Invariant: what is held on each agent fits in its total, ports never double-booked.
          for (const a of agents) {
            const mine = held.filter((h) => h.agent === a);
            const cpus = mine.reduce((s, h) => s + h.r.cpus, 0);
            const mem = mine.reduce((s, h) => s + h.r.mem, 0);
            const ports = mine.flatMap((h) =>
              h.r.ports.flatMap((p) => Array.from({ length: p.end - p.begin + 1 }, (_, k) => p.begin + k)),
            );
            const total = totals[a] ?? emptyResources();
            expect(cpus).toBeLessThanOrEqual(total.cpus);
            expect(mem).toBeLessThanOrEqual(total.mem);
            expect(new Set(ports).size).toBe(ports.length);
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('DRF fairness properties', () => {
  it('equalizes dominant shares under equal, unbounded demand', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 20, max: 200 }), (nFrameworks, nAgents) => {
        const allocator = new DrfAllocator();
        for (let i = 0; i < nAgents; i++) allocator.addAgent(agent(`a${i}`, 'cpus:4;mem:8GiB'), new Map());
        for (let i = 0; i < nFrameworks; i++) allocator.addFramework(fw(`f${i}`, `role${i}`), new Map(), true);
        allocator.allocate();
        const shares = Array.from({ length: nFrameworks }, (_, i) => allocator.share(`f${i}`));
        const oneAgent = 1 / nAgents;
        expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(oneAgent + 1e-9);
      }),
      { numRuns: 50 },
    );
  });

  it('gives roles allocations in proportion to their weights', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), (w) => {
        const allocator = new DrfAllocator();
        for (let i = 0; i < 120; i++) allocator.addAgent(agent(`a${i}`, 'cpus:1;mem:1GiB'), new Map());
        allocator.addFramework(fw('light', 'light'), new Map(), true);
        allocator.addFramework(fw('heavy', 'heavy'), new Map(), true);
        allocator.setWeight('heavy', w);
        const counts = { light: 0, heavy: 0 };
        for (const a of allocator.allocate()) counts[a.frameworkId as 'light' | 'heavy'] += 1;
        expect(counts.light + counts.heavy).toBe(120);
        expect(Math.abs(counts.heavy - w * counts.light)).toBeLessThanOrEqual(w + 1);
      }),
      { numRuns: 5 },
    );
  });
});
