/**
 * The round-robin policy: the same allocator as DRF ordered with no fairness at all, so the
 * master can swap one for the other (`--allocator round-robin`, or its former name `first-fit`).
 */
import { describe, expect, it } from 'vitest';
import { parseResources } from '../../core/resources.js';
import { loadAllocator } from '../index.js';

const agent = (id: string) => ({
  id,
  hostname: id,
  total: parseResources('cpus:1;mem:1GiB'),
  attributes: [],
  pool: 'default',
});

describe('round-robin allocator', () => {
  it('hands whole agents to frameworks in turn, ignoring shares and weights', async () => {
    const allocator = await loadAllocator('round-robin', {});
    for (const id of ['a0', 'a1', 'a2', 'a3', 'a4']) allocator.addAgent(agent(id), new Map());
    allocator.addFramework({ id: 'big', name: 'big', role: 'r' }, new Map([['a0', parseResources('cpus:1')]]), true);
    allocator.addFramework({ id: 'small', name: 'small', role: 's' }, new Map(), true);
    allocator.setWeight('s', 100);
    // a0 still has memory free: it is offered too. "big" already holds a CPU and goes first anyway.
    expect(allocator.allocate().map((a) => `${a.agentId}:${a.frameworkId}`)).toEqual([
      'a0:big',
      'a1:small',
      'a2:big',
      'a3:small',
      'a4:big',
    ]);
    expect(allocator.weights()).toEqual([{ role: 's', weight: 100 }]);
  });

  it('shares the ledger rules with DRF: filters, suppression and inactive agents', async () => {
    let now = 0;
    const allocator = await loadAllocator('first-fit', { now: () => now });
    allocator.addAgent(agent('a0'), new Map());
    allocator.addAgent(agent('a1'), new Map());
    allocator.addFramework({ id: 'f', name: 'f', role: 'r' }, new Map(), true);
    for (const offer of allocator.allocate()) allocator.recoverResources('f', offer.agentId, offer.resources, {});
    expect(allocator.allocate()).toEqual([]);
    now = 5_000;
    allocator.deactivateAgent('a1');
    expect(allocator.allocate().map((a) => a.agentId)).toEqual(['a0']);
    allocator.suppressOffers('f');
    allocator.activateAgent('a1');
    expect(allocator.allocate()).toEqual([]);
  });
});
