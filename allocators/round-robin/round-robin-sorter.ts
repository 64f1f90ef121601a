/**
 * The round-robin policy (`--allocator round-robin`, formerly `first-fit`): no fairness, no
 * weights. Clients are tried in turn, the one offered to last going to the back of the line, so
 * roles take turns and, within a role, so do its frameworks. With `shuffleAgents: false` agents
 * are visited in the allocator's slot order: a deterministic baseline for the DRF policy, and the
 * smallest example of a policy. Quota and reservations hold as for every policy.
 */
import type { AllocatorPolicy } from '../sorter.js';
import { ListSorter } from '../sorter.js';

/** Least recently offered first. */
export class RoundRobinSorter extends ListSorter {
  override update(client: string, _delta: ArrayLike<number>, allocations: number): void {
    const active = this.clients.get(client);
    if (allocations <= 0 || active === undefined) return;
    // Map keeps insertion order: re-inserting moves the client to the back of the line.
    this.clients.delete(client);
    this.clients.set(client, active);
  }

  protected order(): Iterable<string> {
    return this.clients.keys();
  }
}

/** The round-robin policy: the same sorter at both levels, agents in slot order. */
export const roundRobinPolicy: AllocatorPolicy = {
  name: 'round-robin',
  createSorter: () => new RoundRobinSorter(),
  shuffleAgents: false,
};
