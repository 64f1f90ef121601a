/**
 * Multi-role frameworks through one allocator client per (framework, role), on the real DRF and
 * round-robin allocators: each role's offers are cut by that role's quota limit, not by the others';
 * a dropped role with live tasks is retired (no offers, keeps what it holds) and leaves when its
 * last task ends; SUPPRESS and REVIVE may name roles; operators see each role's share and their sum.
 */
import { describe, expect, it } from 'vitest';
import type { Allocator } from '../../allocators/allocator.js';
import { DrfAllocator } from '../../allocators/drf/drf-allocator.js';
import { HierarchicalAllocator } from '../../allocators/hierarchical/hierarchical-allocator.js';
import { roundRobinPolicy } from '../../allocators/round-robin/round-robin-sorter.js';
import { addResources, emptyResources, parseResources } from '../../core/resources.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { clientId, parseClientId, RoleClients, type RoleAllocation } from './role-clients.js';

const GiB = 1024 ** 3;

function cluster(make: () => Allocator, agents = 4): { allocator: Allocator; clients: RoleClients } {
  const allocator = make();
  for (let i = 0; i < agents; i++)
    allocator.addAgent(
      { id: `a${i}`, hostname: `h${i}`, total: parseResources('cpus:2;mem:2GiB'), attributes: [], pool: 'default' },
      new Map(),
    );
  return { allocator, clients: new RoleClients(allocator) };
}

/** What each role was offered in `allocations`. */
function byRole(allocations: readonly RoleAllocation[]): Map<string, Resources> {
  const sums = new Map<string, Resources>();
  for (const a of allocations) sums.set(a.role, addResources(sums.get(a.role) ?? emptyResources(), a.resources));
  return sums;
}

describe.each<[string, () => Allocator]>([
  ['drf', () => new DrfAllocator()],
  ['round-robin', () => new HierarchicalAllocator(roundRobinPolicy)],
])('RoleClients over %s', (_name, make) => {
  it("offers each role of a framework apart, each cut by its own role's quota limit", () => {
    const { allocator, clients } = cluster(make);
    allocator.setQuota('alice', { limit: { cpus: 1000 } });
    clients.add('fw-shared', 'appmaster', ['alice', 'bob'], true);
    // A few passes: round-robin may leave an agent's remainder to the next one.
    const offers = [1, 2, 3].flatMap(() => clients.allocate());
    expect(offers.every((o) => o.frameworkId === 'fw-shared')).toBe(true);
    const got = byRole(offers);
    expect(got.get('alice')?.cpus).toBe(1000);
    // bob's role is not bound by alice's limit: it gets the rest of the cluster.
    expect(got.get('bob')?.cpus).toBe(8000 - 1000);
    expect((got.get('alice')?.cpus ?? 0) + (got.get('bob')?.cpus ?? 0)).toBe(8000);
  });

  it('retires a dropped role that still holds tasks: no offers, and it leaves once its last task ended', () => {
    const { allocator, clients } = cluster(make, 1);
    clients.add('fw-1', 'f', ['alice', 'bob'], true);
    const first = clients.allocate();
    const alice = first.find((o) => o.role === 'alice');
    const bob = first.find((o) => o.role === 'bob');
    // One agent: one role got it all; give bob's part (if any) back and keep alice's as a task.
    if (bob) clients.recover('fw-1', 'bob', bob.agentId, bob.resources);
    expect(alice ?? bob).toBeDefined();
    const held = alice ?? first[0];
    if (!held) throw new Error('no allocation');
    const dropped = clients.setRoles('fw-1', ['bob'], (role) => role === held.role);
    expect(dropped).toEqual(['alice']);
    expect(clients.roles('fw-1')).toEqual(['bob']);
    if (held.role === 'alice') {
      expect(clients.hasClient('fw-1', 'alice')).toBe(true);
      // The retired role keeps what it holds: nothing is offered to anyone until it ends.
      expect(clients.allocate()).toEqual([]);
      clients.recover('fw-1', 'alice', held.agentId, held.resources);
      clients.releaseRetired('fw-1', 'alice', () => false);
      expect(clients.hasClient('fw-1', 'alice')).toBe(false);
    }
    expect(byRole(clients.allocate()).get('bob')?.cpus).toBe(2000);
    expect(allocator.share(clientId('fw-1', 'alice'))).toBe(0);
  });

  it('removes a dropped role without live tasks at once, and takes a role back un-retired', () => {
    const { clients } = cluster(make, 1);
    clients.add('fw-1', 'f', ['alice'], true);
    const offer = clients.allocate()[0];
    if (!offer) throw new Error('no offer');
    expect(clients.setRoles('fw-1', ['bob'], () => true)).toEqual(['alice']);
    expect(clients.hasClient('fw-1', 'alice')).toBe(true);
    // alice comes back before its tasks ended: offered again (once it has something free).
    clients.setRoles('fw-1', ['alice', 'bob'], () => true);
    expect(clients.roles('fw-1')).toEqual(['alice', 'bob']);
    clients.recover('fw-1', 'alice', offer.agentId, offer.resources);
    expect(clients.allocate().map((o) => o.role)).toHaveLength(1);
    expect(clients.setRoles('fw-1', ['bob'], () => false)).toEqual(['alice']);
    expect(clients.hasClient('fw-1', 'alice')).toBe(false);
  });

  it('SUPPRESS and REVIVE name roles (none: all); a framework is suppressed when all its roles are', () => {
    const { clients } = cluster(make, 2);
    clients.add('fw-1', 'f', ['alice', 'bob'], true);
    clients.suppress('fw-1', ['alice']);
    expect(clients.suppressed('fw-1')).toBe(false);
    expect(new Set(clients.allocate().map((o) => o.role))).toEqual(new Set(['bob']));
    clients.suppress('fw-1');
    expect(clients.suppressed('fw-1')).toBe(true);
    clients.revive('fw-1', ['alice']);
    expect(clients.suppressed('fw-1')).toBe(false);
  });

  it('keeps a disconnected framework out of every role, and brings only its current roles back', () => {
    const { clients } = cluster(make, 2);
    clients.add('fw-1', 'f', ['alice', 'bob'], true);
    clients.deactivate('fw-1');
    expect(clients.allocate()).toEqual([]);
    clients.ensureRole('fw-1', 'carol'); // a task reported in a role the framework dropped
    clients.activate('fw-1');
    expect(new Set(clients.allocate().map((o) => o.role))).toEqual(new Set(['alice', 'bob']));
    expect(clients.roles('fw-1')).toEqual(['alice', 'bob']);
    expect(clients.hasClient('fw-1', 'carol')).toBe(true);
  });

  it("shows operators each role's share and their sum", () => {
    const { clients } = cluster(make, 4);
    clients.add('fw-1', 'f', ['alice', 'bob'], true);
    clients.allocate();
    const shares = clients.roleShares('fw-1');
    expect(shares.map((s) => s.role)).toEqual(['alice', 'bob']);
    expect(clients.share('fw-1')).toBeCloseTo(shares.reduce((sum, s) => sum + s.share, 0));
    expect(clients.share('fw-1')).toBeCloseTo(1);
    clients.remove('fw-1');
    expect(clients.share('fw-1')).toBe(0);
    expect(clients.allocate()).toEqual([]);
  });
});

describe('client ids', () => {
  it('split back into framework and role at the first slash (framework ids have none)', () => {
    expect(parseClientId(clientId('fw-1', 'eng/search'))).toEqual({ frameworkId: 'fw-1', role: 'eng/search' });
    expect(parseClientId(clientId('fw-1', '*'))).toEqual({ frameworkId: 'fw-1', role: '*' });
  });
});

describe('quota across the roles of one framework', () => {
  it("counts a shared framework's tasks in a user's role against that user's limit, with the user's own framework", () => {
    const { allocator, clients } = cluster(() => new DrfAllocator(), 2);
    allocator.setQuota('alice', { limit: { cpus: 2000, mem: 4 * GiB } });
    // alice's own framework holds one agent (2 cpus): alice's limit is used up.
    clients.add('fw-alice', 'alice', ['alice'], true);
    const own = clients.allocate().filter((o) => o.frameworkId === 'fw-alice');
    expect(own.reduce((sum, o) => sum + o.resources.cpus, 0)).toBe(2000);
    // A shared framework acting for alice gets nothing in her role, while bob's role is served.
    clients.add('fw-shared', 'appmaster', ['alice', 'bob'], true);
    const shared = clients.allocate();
    expect(shared.filter((o) => o.role === 'alice')).toEqual([]);
    expect(byRole(shared).get('bob')?.cpus).toBe(2000);
  });
});
