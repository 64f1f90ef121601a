/**
 * Invariants every built-in allocator keeps, under random sequences of what a master does:
 * agents and frameworks come and go, connect and disconnect, suppress and revive, offers are
 * partly used and given back with or without filters.
 *
 * - It never over-commits: what frameworks hold on an agent fits its total, ports included.
 * - Nobody is offered what it must not get: inactive or suppressed frameworks, inactive agents,
 *   and agents a framework is filtering.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Resources } from '../proto/gen/galaxy/v1/common.js';
import { countRanges } from '../core/ranges.js';
import { emptyResources, parseResources, subtractResources } from '../core/resources.js';
import type { Allocator, AllocatorOptions } from './allocator.js';
import { BUILTIN_ALLOCATORS } from './index.js';

const AGENTS = 5;
const FRAMEWORKS = 4;

type Op =
  | { kind: 'allocate' }
  | { kind: 'recover'; pick: number; fraction: number; filter: boolean }
  | { kind: 'agent'; agent: number; action: 'add' | 'remove' | 'activate' | 'deactivate' }
  | {
      kind: 'framework';
      framework: number;
      action: 'add' | 'remove' | 'activate' | 'deactivate' | 'suppress' | 'revive';
    }
  | { kind: 'tick'; seconds: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'allocate' as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('recover' as const),
      pick: fc.nat(),
      fraction: fc.double({ min: 0, max: 1, noNaN: true }),
      filter: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('agent' as const),
      agent: fc.nat(AGENTS - 1),
      action: fc.constantFrom('add' as const, 'remove' as const, 'activate' as const, 'deactivate' as const),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('framework' as const),
      framework: fc.nat(FRAMEWORKS - 1),
      action: fc.constantFrom(
        'add' as const,
        'remove' as const,
        'activate' as const,
        'deactivate' as const,
        'suppress' as const,
        'revive' as const,
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), seconds: fc.integer({ min: 1, max: 10 }) }) },
);

/** Takes a fraction of each scalar and of the port ranges: what a framework gives back. */
function fractionOf(r: Resources, f: number): Resources {
  return {
    cpus: Math.floor(r.cpus * f),
    mem: Math.floor(r.mem * f),
    disk: Math.floor(r.disk * f),
    gpus: Math.floor(r.gpus * f),
    ports: r.ports.slice(0, Math.floor(r.ports.length * f)),
  };
}

const totals = Array.from({ length: AGENTS }, (_, i) =>
  parseResources(`cpus:${i + 1};mem:${(i + 1) * 512}MiB;gpus:${i % 2};ports:[${31000 + i * 10}-${31009 + i * 10}]`),
);

/** The master's view: what exists, its state, and what each framework holds where. */
class Model {
  readonly agents = new Map<number, { active: boolean }>();
  readonly frameworks = new Map<number, { active: boolean; suppressed: boolean; filters: Map<number, number> }>();
  held: { fw: number; agent: number; r: Resources }[] = [];
  now = 0;
  readonly allocator: Allocator;

  /** Creates the allocator under test on the model's clock. */
  constructor(create: (options: AllocatorOptions) => Allocator) {
    this.allocator = create({ now: () => this.now });
  }

  apply(op: Op): void {
    const a = this.allocator;
    switch (op.kind) {
      case 'tick':
        this.now += op.seconds * 1000;
        return;
      case 'allocate':
        for (const offer of a.allocate())
          this.offered(Number(offer.frameworkId.slice(1)), Number(offer.agentId.slice(1)), offer.resources);
        return;
      case 'recover': {
        const i = op.pick % Math.max(1, this.held.length);
        const h = this.held[i];
        if (!h) return;
        const back = fractionOf(h.r, op.fraction);
        a.recoverResources(`f${h.fw}`, `a${h.agent}`, back, op.filter ? { refuseSeconds: 5 } : undefined);
        if (op.filter) this.frameworks.get(h.fw)?.filters.set(h.agent, this.now + 5000);
        this.held[i] = { ...h, r: subtractResources(h.r, back) };
        return;
      }
      case 'agent':
        this.agentOp(op.agent, op.action);
        return;
      case 'framework':
        this.frameworkOp(op.framework, op.action);
        return;
    }
  }

  private agentOp(n: number, action: 'add' | 'remove' | 'activate' | 'deactivate'): void {
    const id = `a${n}`;
    const state = this.agents.get(n);
    if (action === 'add' && !state) {
      this.allocator.addAgent(
        { id, hostname: id, total: totals[n] ?? emptyResources(), attributes: [], pool: 'default' },
        new Map(),
      );
      this.agents.set(n, { active: true });
    } else if (action === 'remove' && state) {
      this.allocator.removeAgent(id);
      this.agents.delete(n);
      this.held = this.held.filter((h) => h.agent !== n);
      for (const f of this.frameworks.values()) f.filters.delete(n);
    } else if (state && (action === 'activate' || action === 'deactivate')) {
      if (action === 'activate') this.allocator.activateAgent(id);
      else this.allocator.deactivateAgent(id);
      state.active = action === 'activate';
    }
  }

  private frameworkOp(n: number, action: 'add' | 'remove' | 'activate' | 'deactivate' | 'suppress' | 'revive'): void {
    const id = `f${n}`;
    const state = this.frameworks.get(n);
    if (action === 'add') {
      if (state) return;
      this.allocator.addFramework({ id, name: id, role: ['ops', 'eng/a', 'eng/b', 'eng'][n] ?? '*' }, new Map(), true);
      this.frameworks.set(n, { active: true, suppressed: false, filters: new Map() });
      return;
    }
    if (!state) return;
    if (action === 'remove') {
      this.allocator.removeFramework(id);
      this.frameworks.delete(n);
      this.held = this.held.filter((h) => h.fw !== n);
    } else if (action === 'activate') {
      this.allocator.activateFramework(id);
      state.active = true;
    } else if (action === 'deactivate') {
      this.allocator.deactivateFramework(id);
      state.active = false;
      state.filters.clear();
    } else if (action === 'suppress') {
      this.allocator.suppressOffers(id);
      state.suppressed = true;
    } else {
      this.allocator.reviveOffers(id);
      state.suppressed = false;
      state.filters.clear();
    }
  }

  /** Checks that the offer was allowed, then records it. */
  private offered(fw: number, agentN: number, r: Resources): void {
    const framework = this.frameworks.get(fw);
    const agent = this.agents.get(agentN);
    expect(framework?.active && !framework.suppressed).toBe(true);
    expect(agent?.active).toBe(true);
    expect((framework?.filters.get(agentN) ?? 0) <= this.now).toBe(true);
    this.held.push({ fw, agent: agentN, r });
  }

  /** What is held on each agent fits its total, and no port is held twice. */
  checkNoOvercommit(): void {
    for (const n of this.agents.keys()) {
      const total = totals[n] ?? emptyResources();
      const mine = this.held.filter((h) => h.agent === n);
      for (const scalar of ['cpus', 'mem', 'disk', 'gpus'] as const)
        expect(mine.reduce((s, h) => s + h.r[scalar], 0)).toBeLessThanOrEqual(total[scalar]);
      const ports = new Set<number>();
      let count = 0;
      for (const h of mine) for (const p of h.r.ports) for (let port = p.begin; port <= p.end; port++) ports.add(port);
      for (const h of mine) count += countRanges(h.r.ports);
      expect(ports.size).toBe(count);
      expect(count).toBeLessThanOrEqual(countRanges(total.ports));
    }
  }
}

describe.each(Object.keys(BUILTIN_ALLOCATORS))('the %s allocator, under random master operations', (name) => {
  it('never over-commits an agent and offers only to whom it may', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: FRAMEWORKS }), fc.array(opArb, { maxLength: 80 }), (initial, ops) => {
        const plugin = BUILTIN_ALLOCATORS[name];
        if (!plugin) throw new Error(`no built-in ${name}`);
        const model = new Model((options) => plugin.create(options));
        // Start from every agent and some frameworks, so that operations have something to act on
        // (and, with one framework, a filtered framework is often the only candidate).
        for (let n = 0; n < AGENTS; n++) model.apply({ kind: 'agent', agent: n, action: 'add' });
        for (let n = 0; n < initial; n++) model.apply({ kind: 'framework', framework: n, action: 'add' });
        for (const op of ops) {
          model.apply(op);
          model.checkNoOvercommit();
        }
      }),
      { numRuns: 300 },
    );
  });
});
