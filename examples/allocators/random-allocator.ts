/**
 * An example allocation policy: each agent goes to a random eligible role, and within it to a
 * random eligible framework. Load it with
 * `galaxy master --allocator ./dist/examples/allocators/random-allocator.js`.
 *
 * A policy is only a sorter: Galaxy's hierarchical allocator runs it, so filters, suppression,
 * reservations and quota limits and guarantees hold for it as for the built-in ones.
 */
import type { AllocatorPolicyPlugin } from '../../allocators/sorter.js';
import { ListSorter } from '../../allocators/sorter.js';

/** Tries the clients in a new random order on every walk. */
class RandomSorter extends ListSorter {
  /** @param random - the allocator's random source (seeded in tests, so that a failing run replays). */
  constructor(private readonly random: () => number) {
    super();
  }

  protected order(): Iterable<string> {
    const clients = [...this.clients.keys()];
    for (let i = clients.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [clients[i], clients[j]] = [clients[j] ?? '', clients[i] ?? ''];
    }
    return clients;
  }
}

/** The plugin: name, version, the allocator API it needs (policies came in 1.2), and its sorters. */
const plugin: AllocatorPolicyPlugin = {
  kind: 'allocator',
  name: 'random',
  version: '2.0.0',
  galaxyApi: '^1.2',
  createSorter: (_level, random) => new RandomSorter(random),
};

export default plugin;
