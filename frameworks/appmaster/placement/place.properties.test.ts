/**
 * Invariants of a placement round under random offers, jobs, existing pods and blacklists:
 *
 * - No offer is over-committed: the pods in it fit its scalars, and their ports are inside its
 *   ranges and never shared.
 * - No pod lands where its pool, labels, maxPerHost or the blacklist forbid.
 * - Every job with an unplaced pod says why, on every offered host (or waits for offers).
 * - It places exactly as judging every offer for every pod would (the heap is only faster).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Offer, Resources } from '../../../proto/gen/galaxy/v1/common.js';
import { addRanges, containsRanges, countRanges } from '../../../core/ranges.js';
import { SCALARS } from '../../../core/resources.js';
import type { JobSpec } from '../spec/schema.js';
import { context, jobSpec, offer } from './fixtures.js';
import { placePods, type Placement, type PlacementContext, type PodDemand } from './place.js';
import { cloneResources, emptyResources, subtractResources } from '../../../core/resources.js';
import { fitPod } from './fit.js';
import { summarizeReasons } from './pending.js';
import { podResources } from './resources.js';

const AGENTS = 4;
const JOBS = 3;

const offersArb = fc
  .array(
    fc.record({
      agent: fc.nat(AGENTS - 1),
      pool: fc.constantFrom('', 'default', 'web'),
      zone: fc.constantFrom(undefined, 'a', 'b'),
      cpus: fc.integer({ min: 0, max: 4000 }),
      memMiB: fc.integer({ min: 0, max: 4096 }),
      diskMiB: fc.integer({ min: 0, max: 2048 }),
      portBase: fc.integer({ min: 31000, max: 31006 }),
      portCount: fc.nat(6),
    }),
    { maxLength: 6 },
  )
  .map((rows) =>
    rows.map((o, i) => {
      const ports = o.portCount === 0 ? '' : `;ports:[${o.portBase}-${o.portBase + o.portCount - 1}]`;
      return offer({
        id: `o${i}`,
        agentId: `agent${o.agent}`,
        hostname: `host${o.agent}`,
        pool: o.pool,
        attributes: o.zone === undefined ? {} : { zone: o.zone },
        resources: `cpus:${o.cpus / 1000};mem:${o.memMiB}MiB;disk:${o.diskMiB}MiB${ports}`,
      });
    }),
  );

const specArb = fc
  .record({
    pool: fc.constantFrom('default', 'web'),
    zone: fc.constantFrom(undefined, 'a', 'b', '*'),
    maxPerHost: fc.nat(2),
    fixed: fc.uniqueArray(fc.integer({ min: 31000, max: 31008 }), { maxLength: 2 }),
    dynamic: fc.nat(2),
    millicores: fc.integer({ min: 100, max: 2000 }),
    memMiB: fc.integer({ min: 4, max: 2048 }),
    diskMiB: fc.option(fc.nat(1024)),
  })
  .map((s) =>
    jobSpec({
      pool: s.pool,
      labels: s.zone === undefined ? {} : { zone: s.zone },
      maxPerHost: s.maxPerHost,
      ports: [
        ...s.fixed.map((port, k) => ({ name: `fixed${k}`, port })),
        ...Array.from({ length: s.dynamic }, (_, k) => ({ name: `dyn${k}`, port: 'dynamic' as const })),
      ],
      resources: {
        cpu: { millicores: `${s.millicores}m` },
        memory: { hard: `${s.memMiB}Mi` },
        ...(s.diskMiB === null ? {} : { disk: { size: `${s.diskMiB}Mi` } }),
      },
    }),
  );

const roundArb = fc.record({
  offers: offersArb,
  specs: fc.array(specArb, { minLength: JOBS, maxLength: JOBS }),
  order: fc.array(fc.nat(JOBS - 1), { maxLength: 12 }),
  existing: fc.array(fc.tuple(fc.nat(JOBS - 1), fc.nat(AGENTS - 1), fc.integer({ min: 1, max: 2 })), { maxLength: 4 }),
  blacklist: fc.array(fc.tuple(fc.nat(JOBS - 1), fc.nat(AGENTS - 1)), { maxLength: 3 }),
});

describe('placePods properties', () => {
  it('never over-commits, never breaks a constraint, and always says why pods wait', () => {
    fc.assert(
      fc.property(roundArb, ({ offers, specs, order, existing, blacklist }) => {
        const demands: PodDemand[] = order.map((j, k) => ({ job: `job${j}`, podId: `pod${k}`, spec: known(specs[j]) }));
        const existingPods: Record<string, number> = {};
        for (const [j, a, n] of existing) existingPods[`job${j}@agent${a}`] = n;
        const avoided = blacklist.map(([j, a]) => `job${j}@host${a}`);
        const placement = placePods(demands, offers, context(existingPods, avoided));

        const demandOf = new Map(demands.map((d) => [d.podId, d]));
        const offerOf = new Map(offers.map((o) => [o.id, o]));
        expect(new Set(placement.assignments.map((a) => a.podId)).size).toBe(placement.assignments.length);

        for (const a of placement.assignments) {
          const { job, spec } = known(demandOf.get(a.podId));
          const o = known(offerOf.get(a.offerId));
          expect([a.job, a.agentId, a.hostname]).toEqual([job, o.agentId, o.hostname]);
          expectPodShape(spec, a.resources, a.ports);
          expect(o.pool === '' ? 'default' : o.pool).toBe(spec.pool);
          for (const [key, value] of Object.entries(spec.labels)) {
            expect(o.attributes.some((l) => l.key === key && (value === '*' || l.value === value))).toBe(true);
          }
          expect(avoided).not.toContain(`${a.job}@${a.hostname}`);
        }

        for (const o of offers) {
          const total = known(o.resources);
          const inside = placement.assignments.filter((a) => a.offerId === o.id);
          for (const name of SCALARS) {
            expect(inside.reduce((n, a) => n + a.resources[name], 0)).toBeLessThanOrEqual(total[name]);
          }
          const ports = inside.map((a) => a.resources.ports);
          expect(containsRanges(total.ports, ports.flat())).toBe(true);
          expect(countRanges(ports.reduce(addRanges, []))).toBe(ports.reduce((n, r) => n + countRanges(r), 0));
          expect(placement.unused.includes(o.id)).toBe(inside.length === 0);
        }

        const perHost = new Map<string, number>();
        for (const a of placement.assignments) {
          const key = `${a.job}@${a.agentId}`;
          perHost.set(key, (perHost.get(key) ?? 0) + 1);
        }
        for (const [key, placed] of perHost) {
          const max = known(demands.find((d) => key.startsWith(`${d.job}@`))).spec.maxPerHost;
          if (max > 0) expect((existingPods[key] ?? 0) + placed).toBeLessThanOrEqual(max);
        }

        const placed = new Set(placement.assignments.map((a) => a.podId));
        const waiting = new Set(demands.filter((d) => !placed.has(d.podId)).map((d) => d.job));
        expect(new Set(placement.pending.keys())).toEqual(waiting);
        for (const reasons of placement.pending.values()) {
          if (offers.length === 0) {
            expect(reasons).toEqual([{ reason: 'no offers (waiting for resources)', hosts: 0 }]);
          } else {
            expect(reasons.reduce((n, r) => n + r.hosts, 0)).toBe(offers.length);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('places exactly as judging every offer for every pod does', () => {
    fc.assert(
      fc.property(roundArb, ({ offers, specs, order, existing, blacklist }) => {
        const demands: PodDemand[] = order.map((j, k) => ({ job: `job${j}`, podId: `pod${k}`, spec: known(specs[j]) }));
        const existingPods: Record<string, number> = {};
        for (const [j, a, n] of existing) existingPods[`job${j}@agent${a}`] = n;
        const ctx = context(
          existingPods,
          blacklist.map(([j, a]) => `job${j}@host${a}`),
        );
        expect(placePods(demands, offers, ctx)).toEqual(everyOfferForEveryPod(demands, offers, ctx));
      }),
      { numRuns: 300 },
    );
  });
});

/** The reference: each pod judged on every offer, the best feasible one taken (fewest of its job, most room, lowest id). */
function everyOfferForEveryPod(
  demands: readonly PodDemand[],
  offers: readonly Offer[],
  ctx: PlacementContext,
): Placement {
  const slots = offers.map((offer) => ({ offer, free: cloneResources(offer.resources ?? emptyResources()) }));
  const total = { cpus: 0, mem: 0 };
  for (const s of slots) [total.cpus, total.mem] = [total.cpus + s.free.cpus, total.mem + s.free.mem];
  const share = (free: Resources) =>
    (total.cpus > 0 ? free.cpus / total.cpus : 0) + (total.mem > 0 ? free.mem / total.mem : 0);
  const placed = new Map<string, number>();
  const result: Placement = { assignments: [], pending: new Map(), unused: [] };
  for (const d of demands) {
    const need = podResources(d.spec, []);
    const judged = slots.map((slot) => {
      const podsOfJob = ctx.podsOn(d.job, slot.offer.agentId) + (placed.get(`${d.job}@${slot.offer.agentId}`) ?? 0);
      const host = {
        offer: slot.offer,
        free: slot.free,
        podsOfJob,
        blacklisted: ctx.blacklisted(d.job, slot.offer.hostname),
      };
      return { slot, podsOfJob, share: share(slot.free), fit: fitPod(d.spec, need, host) };
    });
    let best: (typeof judged)[number] | undefined;
    for (const c of judged) {
      if (!c.fit.ok) continue;
      const before =
        best === undefined ||
        (c.podsOfJob !== best.podsOfJob
          ? c.podsOfJob < best.podsOfJob
          : c.share !== best.share
            ? c.share > best.share
            : c.slot.offer.id < best.slot.offer.id);
      if (before) best = c;
    }
    if (!best?.fit.ok) {
      if (!result.pending.has(d.job))
        result.pending.set(d.job, summarizeReasons(judged.flatMap(({ fit }) => (fit.ok ? [] : [fit.reason]))));
      continue;
    }
    const { slot, fit } = best;
    slot.free = subtractResources(slot.free, fit.resources);
    const key = `${d.job}@${slot.offer.agentId}`;
    placed.set(key, (placed.get(key) ?? 0) + 1);
    result.assignments.push({
      podId: d.podId,
      job: d.job,
      offerId: slot.offer.id,
      agentId: slot.offer.agentId,
      hostname: slot.offer.hostname,
      resources: fit.resources,
      ports: fit.ports,
    });
  }
  const used = new Set(result.assignments.map((a) => a.offerId));
  result.unused.push(...offers.filter((o) => !used.has(o.id)).map((o) => o.id));
  return result;
}

/** The pod reserves what its spec asks, and exactly the port numbers it was given. */
function expectPodShape(spec: JobSpec, resources: Resources, ports: Record<string, number>): void {
  expect([resources.cpus, resources.mem, resources.disk]).toEqual([
    spec.resources.cpu.millicores,
    spec.resources.memory.hard,
    spec.resources.disk?.size ?? 0,
  ]);
  expect(Object.keys(ports).sort()).toEqual(spec.ports.map((p) => p.name).sort());
  for (const p of spec.ports) if (p.port !== 'dynamic') expect(ports[p.name]).toBe(p.port);
  const numbers = Object.values(ports);
  expect(countRanges(resources.ports)).toBe(numbers.length);
  expect(
    containsRanges(
      resources.ports,
      numbers.map((n) => ({ begin: n, end: n })),
    ),
  ).toBe(true);
}

/** The value, which the test's own construction guarantees is there. */
function known<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the test looked up something it did not create');
  return value;
}
