/**
 * Reservations and quotas on a real in-process master over gRPC, driven by raw agents and
 * frameworks: a static reservation is offered only to its role, dynamic reserve/unreserve
 * change offers at once, only admins may make them, and both dynamic reservations and stored
 * quotas apply again after a failover.
 */
import { Metadata } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadAllocator } from '../../allocators/index.js';
import { operatorClient, type Operator } from '../../cli/operator-client.js';
import { setPrincipal } from '../../core/auth/principal.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { createLogger } from '../../core/logger.js';
import { parseResources } from '../../core/resources.js';
import { quotaKey, reservationsKey } from '../../core/tenancy/keys.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../../test/helpers/raw-clients.js';
import { Master, startMaster } from '../master.js';
import { reservationApi } from '../api/reservation-api.js';
import { loadAllocationTenancy } from '../registry/tenancy-registry.js';

const GiB = 1024 ** 3;
/** Scalars-only resources, as reservations and port-less agents hold them. */
const res = (cpus: number, mem: number) => ({ cpus, mem, disk: 0, gpus: 0, ports: [] });
const TIMINGS = { allocationIntervalMs: 100, offerTimeoutMs: 0, statusRetryMs: 200 };
const TOTAL = { cpus: 4000, mem: 8 * GiB, disk: 0, gpus: 0, ports: [] };

let master: Master;
let op: Operator;
const open: { close(): void }[] = [];

function agent(address: string, info: Parameters<typeof rawAgent>[1]): RawAgent {
  const a = rawAgent(address, { total: TOTAL, reservations: [], ...info });
  open.push(a);
  return a;
}
function framework(address: string, name: string, role: string): RawFramework {
  const f = rawFramework(address, { name, user: name, role });
  open.push(f);
  return f;
}
const offersOf = (e: Event): Offer[] => (e.event?.$case === 'offers' ? e.event.offers.offers : []);
const allOffers = (fw: RawFramework): Offer[] => fw.events.items.flatMap(offersOf);
async function offerFor(fw: RawFramework, match: (o: Offer) => boolean, what: string): Promise<Offer> {
  const event = await fw.events.waitFor((e) => offersOf(e).some(match), 10_000, what);
  const offer = offersOf(event).find(match);
  if (!offer) throw new Error('unreachable');
  return offer;
}
const settle = () => new Promise((r) => setTimeout(r, 400));

beforeEach(async () => {
  master = await startMaster({ listen: '127.0.0.1:0', insecureNoAuth: true, logLevel: 'silent', timings: TIMINGS });
  op = operatorClient(master.address);
});

afterEach(async () => {
  op.close();
  for (const c of open.splice(0)) c.close();
  await master.stop();
});

describe('static reservations', () => {
  it('are offered, marked with their role, only to frameworks of that role or below', async () => {
    const a = agent(master.address, {
      hostname: 'h1',
      reservations: [{ role: 'eng', resources: parseResources('cpus:1;mem:2GiB') }],
    });
    const id = await a.registered;
    const ops = framework(master.address, 'ops', 'ops');
    const unreserved = await offerFor(ops, (o) => o.agentId === id, 'an offer to ops');
    expect(unreserved.reservedRole).toBeUndefined();
    expect(unreserved.resources).toMatchObject({ cpus: 3000, mem: 6 * GiB });
    const search = framework(master.address, 'search', 'eng/search');
    const reserved = await offerFor(search, (o) => o.agentId === id, 'an offer to eng/search');
    expect(reserved).toMatchObject({ reservedRole: 'eng', resources: { cpus: 1000, mem: 2 * GiB, ports: [] } });
    await settle();
    expect(allOffers(ops).every((o) => o.reservedRole === undefined)).toBe(true);
    // `galaxy agents` shows the reservation.
    expect((await op.listAgents({}).then((r) => r.agents))[0]?.reservations).toEqual([
      { role: 'eng', resources: res(1000, 2 * GiB) },
    ]);
  });

  it('refuses an agent whose reservations exceed its total, saying so', async () => {
    const a = agent(master.address, {
      hostname: 'h1',
      reservations: [{ role: 'eng', resources: parseResources('cpus:5') }],
    });
    await expect(a.registered).rejects.toThrow(/GALAXY_E_AGENT_INVALID.*exceed/);
  });
});

describe('dynamic reservations', () => {
  it('reserve and unreserve change the offers at once', async () => {
    const a = agent(master.address, { hostname: 'h1' });
    const id = await a.registered;
    const ops = framework(master.address, 'ops', 'ops');
    expect((await offerFor(ops, (o) => o.agentId === id, 'a first offer')).resources?.cpus).toBe(4000);
    ops.events.clear();
    const after = await op
      .reserveResources({ agentId: id, role: 'eng', resources: parseResources('cpus:1;mem:1GiB') })
      .then((r) => r.reservations);
    expect(after).toEqual([{ role: 'eng', resources: res(1000, GiB) }]);
    // The outstanding offer is rescinded and made again without the reserved part.
    await ops.events.waitFor((e) => e.event?.$case === 'rescind', 5000, 'RESCIND');
    expect((await offerFor(ops, (o) => o.agentId === id, 'a cut offer')).resources?.cpus).toBe(3000);
    const eng = framework(master.address, 'eng', 'eng');
    expect(await offerFor(eng, (o) => o.reservedRole === 'eng', 'the reserved offer')).toMatchObject({
      resources: { cpus: 1000, mem: GiB },
    });

    eng.events.clear();
    ops.events.clear();
    expect(
      await op
        .unreserveResources({ agentId: id, role: 'eng', resources: parseResources('cpus:1;mem:1GiB') })
        .then((r) => r.reservations),
    ).toEqual([]);
    await eng.events.waitFor((e) => e.event?.$case === 'rescind', 5000, 'RESCIND of the reserved offer');
    // Everything is unreserved again: some framework is offered all 4 cpus across new offers.
    await settle();
    const fresh = [...allOffers(ops), ...allOffers(eng)];
    expect(fresh.every((o) => o.reservedRole === undefined)).toBe(true);
    expect(fresh.reduce((sum, o) => sum + (o.resources?.cpus ?? 0), 0)).toBe(4000);
  });

  it('validates requests and lets only admins make them', async () => {
    const id = await agent(master.address, { hostname: 'h1' }).registered;
    await expect(
      op
        .reserveResources({ agentId: id, role: 'eng', resources: parseResources('cpus:5') })
        .then((r) => r.reservations),
    ).rejects.toMatchObject({
      code: 'GALAXY_E_RESERVATION_INVALID',
    });
    await expect(
      op
        .reserveResources({ agentId: 'nope', role: 'eng', resources: parseResources('cpus:1') })
        .then((r) => r.reservations),
    ).rejects.toMatchObject({
      code: 'GALAXY_E_AGENT_UNKNOWN',
    });
    await expect(
      op
        .unreserveResources({ agentId: id, role: 'eng', resources: parseResources('cpus:1') })
        .then((r) => r.reservations),
    ).rejects.toMatchObject({
      code: 'GALAXY_E_RESERVATION_INVALID',
    });
    const api = reservationApi(master.reservations);
    const call = {
      request: { agentId: id, role: 'eng', resources: parseResources('cpus:1') },
      metadata: new Metadata(),
    };
    setPrincipal(call, { user: 'bob', admin: false, kind: 'user' });
    const error = await new Promise<{ details?: string } | null>((resolve) => {
      api.reserveResources(call as never, (err) => {
        resolve(err);
      });
    });
    expect(error?.details).toContain('GALAXY_E_PERMISSION_DENIED');
    expect(master.allocator.reservations(id)).toEqual([]);
  });
});

describe('after a failover', () => {
  it('re-applies stored dynamic reservations and follows stored quotas', async () => {
    const coordinator = new MemoryCoordinator();
    const log = createLogger('master', 'silent');
    const stops: (() => unknown)[] = [];
    try {
      const first = new Master(
        await loadAllocator('drf', {}),
        { listen: '127.0.0.1:0', insecureNoAuth: true, timings: TIMINGS },
        log,
      );
      stops.push(await loadAllocationTenancy(coordinator, first, log));
      await first.start();
      stops.push(() => first.stop());
      const a1 = agent(first.address, { hostname: 'h1' });
      const id = await a1.registered;
      const firstOp = operatorClient(first.address);
      await firstOp
        .reserveResources({ agentId: id, role: 'eng', resources: parseResources('cpus:2') })
        .then((r) => r.reservations);
      firstOp.close();
      expect(JSON.parse((await coordinator.get(reservationsKey(id)))?.value ?? '{}')).toMatchObject({
        eng: { cpus: 2000 },
      });
      a1.close();
      await first.stop();

      const second = new Master(
        await loadAllocator('drf', {}),
        { listen: '127.0.0.1:0', insecureNoAuth: true, timings: TIMINGS },
        log,
      );
      stops.push(await loadAllocationTenancy(coordinator, second, log));
      await second.start();
      stops.push(() => second.stop());
      const back = agent(second.address, { id, hostname: 'h1' });
      await back.registered;
      // A quota written to the store limits the role's offers (the limit of user `ops`: 1 cpu).
      await coordinator.put(quotaKey('ops'), JSON.stringify({ limit: { cpus: 1000, replicas: 3 } }));
      await eventually(() => second.allocator.quotas().length === 1, 5000, 'the quota in the allocator');
      expect(second.allocator.quotas()).toEqual([{ role: 'ops', limit: { cpus: 1000 } }]);
      const ops = framework(second.address, 'ops', 'ops');
      const offer = await offerFor(ops, (o) => o.agentId === id, 'an offer to ops');
      expect(offer.reservedRole).toBeUndefined();
      expect(offer.resources?.cpus).toBe(1000);
      // The dynamic reservation made before the failover is offered to its role again.
      const eng = framework(second.address, 'eng', 'eng');
      expect(await offerFor(eng, (o) => o.reservedRole === 'eng', 'the reserved offer')).toMatchObject({
        resources: { cpus: 2000 },
      });
      await coordinator.delete(quotaKey('ops'));
      await eventually(() => second.allocator.quotas().length === 0, 5000, 'the quota removed');
    } finally {
      for (const stop of stops.reverse()) await stop();
      await coordinator.close();
    }
  });
});
