/**
 * Reservations in the DRF allocator (static ones from the agent, dynamic ones from operators),
 * after the ideas of Mesos' reservation tests: offered only to their role and its descendants,
 * not counted toward fair share across roles, counted toward quota.
 */
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../core/resources.js';
import type { Allocation } from '../allocator.js';
import { HierarchicalAllocator } from '../hierarchical/hierarchical-allocator.js';
import { roundRobinPolicy } from '../round-robin/round-robin-sorter.js';
import { DrfAllocator } from './drf-allocator.js';

const GiB = 1024 ** 3;
/** Scalars-only resources, as reservations and port-less agents hold them. */
const res = (cpus: number, mem: number) => ({ cpus, mem, disk: 0, gpus: 0, ports: [] });
const agent = (id: string, spec: string, reservations: { role: string; spec: string }[] = []) => ({
  id,
  hostname: id,
  total: parseResources(spec),
  attributes: [],
  pool: 'default',
  reservations: reservations.map((r) => ({ role: r.role, resources: parseResources(r.spec) })),
});
const fw = (id: string, role: string) => ({ id, name: id, role });
const reservedTo = (offers: Allocation[], frameworkId: string) =>
  offers.filter((o) => o.frameworkId === frameworkId && o.reservedRole !== undefined);

describe('DRF allocator reservations', () => {
  it('offers a static reservation only to its role and descendants, never to others', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:4;mem:4GiB', [{ role: 'eng', spec: 'cpus:2;mem:2GiB' }]), new Map());
    allocator.addFramework(fw('ops', 'ops'), new Map(), true);
    const first = allocator.allocate();
    // `ops` gets the unreserved half; the reserved half stays unoffered.
    expect(first).toEqual([{ frameworkId: 'ops', agentId: 'a1', resources: res(2000, 2 * GiB) }]);
    expect(allocator.allocate()).toEqual([]);
    allocator.addFramework(fw('search', 'eng/search'), new Map(), true);
    const second = allocator.allocate();
    expect(second).toEqual([
      {
        frameworkId: 'search',
        agentId: 'a1',
        resources: res(2000, 2 * GiB),
        reservedRole: 'eng',
      },
    ]);
  });

  it('does not offer a reservation to a sibling or a parent role', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:2;mem:2GiB', [{ role: 'eng/search', spec: 'cpus:2;mem:2GiB' }]), new Map());
    allocator.addFramework(fw('ads', 'eng/ads'), new Map(), true);
    allocator.addFramework(fw('eng', 'eng'), new Map(), true);
    expect(allocator.allocate()).toEqual([]);
  });

  it('does not count reserved resources toward the fair share across roles', () => {
    const allocator = new DrfAllocator();
    // eng has 6 reserved cpus on r1; the shared pool is s1 + s2 (2 agents of 2 cpus).
    allocator.addAgent(agent('r1', 'cpus:6;mem:6GiB', [{ role: 'eng', spec: 'cpus:6;mem:6GiB' }]), new Map());
    allocator.addFramework(fw('eng', 'eng'), new Map(), true);
    allocator.addFramework(fw('ops', 'ops'), new Map(), true);
    expect(reservedTo(allocator.allocate(), 'eng')).toHaveLength(1);
    // eng holds 6 reserved cpus, ops nothing. Had reservations counted, ops would win both
    // shared agents; they do not, so eng and ops each get one.
    allocator.addAgent(agent('s1', 'cpus:2;mem:2GiB'), new Map());
    allocator.addAgent(agent('s2', 'cpus:2;mem:2GiB'), new Map());
    const offers = allocator.allocate();
    expect(offers.map((o) => o.frameworkId).sort()).toEqual(['eng', 'ops']);
    expect(allocator.share('eng')).toBeGreaterThan(allocator.share('ops'));
  });

  it('changes offers with dynamic reserve and unreserve, and validates them', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:4;mem:4GiB'), new Map());
    allocator.addFramework(fw('ops', 'ops'), new Map(), true);
    allocator.reserve('a1', 'eng', parseResources('cpus:3;mem:1GiB'));
    expect(allocator.reservations('a1')).toEqual([{ role: 'eng', resources: res(3000, GiB) }]);
    const [offer] = allocator.allocate();
    expect(offer?.resources).toMatchObject({ cpus: 1000, mem: 3 * GiB });
    allocator.recoverResources('ops', 'a1', offer?.resources ?? parseResources(''));
    allocator.unreserve('a1', 'eng', parseResources('cpus:3;mem:1GiB'));
    expect(allocator.reservations('a1')).toEqual([]);
    expect(allocator.allocate()[0]?.resources).toMatchObject({ cpus: 4000, mem: 4 * GiB });
    expect(() => {
      allocator.reserve('a1', 'eng', parseResources('cpus:5'));
    }).toThrow(/GALAXY_E_RESERVATION_INVALID/);
    expect(() => {
      allocator.reserve('a1', '*', parseResources('cpus:1'));
    }).toThrow(/role \*/);
    expect(() => {
      allocator.reserve('a1', 'eng', parseResources('ports:[1-2]'));
    }).toThrow(/ports/);
    expect(() => {
      allocator.unreserve('a1', 'eng', parseResources('cpus:1'));
    }).toThrow(/only cpus:0/);
  });

  it('refuses to unreserve a static reservation', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:4;mem:4GiB', [{ role: 'eng', spec: 'cpus:1' }]), new Map());
    expect(() => {
      allocator.unreserve('a1', 'eng', parseResources('cpus:1'));
    }).toThrow(/dynamically reserved/);
    expect(() => {
      allocator.addAgent(agent('a2', 'cpus:1', [{ role: 'eng', spec: 'cpus:2' }]), new Map());
    }).toThrow(/GALAXY_E_RESERVATION_INVALID/);
  });

  it('gives declined reserved resources back to the reservation, and keeps used ones held', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('a1', 'cpus:2;mem:2GiB', [{ role: 'eng', spec: 'cpus:2;mem:2GiB' }]), new Map());
    allocator.addFramework(fw('eng', 'eng'), new Map(), true);
    allocator.addFramework(fw('ops', 'ops'), new Map(), true);
    const [offer] = allocator.allocate();
    expect(offer?.reservedRole).toBe('eng');
    // eng launches a 1-cpu task and gives the rest back.
    allocator.recoverResources('eng', 'a1', parseResources('cpus:1;mem:1GiB'));
    const [again] = allocator.allocate();
    expect(again).toMatchObject({ frameworkId: 'eng', reservedRole: 'eng', resources: { cpus: 1000 } });
  });

  it('counts reservations toward the quota of the role: reserved plus unreserved stays within the limit', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('r1', 'cpus:2;mem:2GiB', [{ role: 'eng', spec: 'cpus:2;mem:2GiB' }]), new Map());
    allocator.addAgent(agent('s1', 'cpus:8;mem:8GiB'), new Map());
    allocator.addFramework(fw('eng', 'eng'), new Map(), true);
    allocator.setQuota('eng', { limit: { cpus: 3000 } });
    const offers = allocator.allocate();
    const reserved = offers.find((o) => o.reservedRole === 'eng');
    const shared = offers.find((o) => o.reservedRole === undefined);
    expect(reserved?.resources.cpus).toBe(2000);
    expect(shared?.resources.cpus).toBe(1000);
  });

  it('sets the guarantee of a role aside from its reservations: they count toward meeting it', () => {
    const allocator = new DrfAllocator();
    allocator.addAgent(agent('r1', 'cpus:2;mem:2GiB', [{ role: 'prod', spec: 'cpus:2;mem:2GiB' }]), new Map());
    allocator.addAgent(agent('s1', 'cpus:4;mem:4GiB'), new Map());
    allocator.setQuota('prod', { guarantee: { cpus: 3000, mem: 3 * GiB } });
    allocator.addFramework(fw('dev', 'dev'), new Map(), true);
    // prod (absent) is guaranteed 3 and has 2 reserved: only 1 more is held back for it.
    expect(allocator.allocate()).toEqual([{ frameworkId: 'dev', agentId: 's1', resources: res(3000, 3 * GiB) }]);
  });

  it('round-robin honours reservations and limits too', () => {
    const allocator = new HierarchicalAllocator(roundRobinPolicy);
    allocator.addAgent(agent('a1', 'cpus:4;mem:4GiB', [{ role: 'eng', spec: 'cpus:1;mem:1GiB' }]), new Map());
    allocator.addFramework(fw('ops', 'ops'), new Map(), true);
    allocator.setQuota('ops', { limit: { cpus: 2000 } });
    expect(allocator.allocate()).toEqual([{ frameworkId: 'ops', agentId: 'a1', resources: res(2000, 3 * GiB) }]);
    allocator.addFramework(fw('eng', 'eng/x'), new Map(), true);
    const offers = allocator.allocate();
    expect(offers.find((o) => o.reservedRole === 'eng')?.frameworkId).toBe('eng');
    expect(offers.find((o) => o.reservedRole === undefined)?.frameworkId).toBe('eng');
  });
});
