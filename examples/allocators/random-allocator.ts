/**
 * An example custom allocator: offers each free agent to a random eligible framework.
 * Load it with `galaxy master --allocator ./dist/examples/allocators/random-allocator.js`.
 *
 * It reuses Galaxy's ledger through `LedgerAllocator`, so it only has to say who goes first.
 */
import type { Allocation, AllocatorPlugin } from '../../allocators/allocator.js';
import { LedgerAllocator } from '../../allocators/common/ledger-allocator.js';
import type { FrameworkEntry } from '../../allocators/common/ledger.js';

class RandomAllocator extends LedgerAllocator {
  readonly name = 'random';
  private readonly all: FrameworkEntry[] = [];

  allocate(): Allocation[] {
    const out: Allocation[] = [];
    const now = this.ledger.now();
    for (const agent of this.ledger.agents) {
      if (!agent || !this.ledger.allocatable(agent)) continue;
      const eligible = this.all.filter((f) => this.ledger.eligible(f, agent, now));
      const framework = eligible[Math.floor(Math.random() * eligible.length)];
      if (framework)
        out.push({
          frameworkId: framework.id,
          agentId: agent.id,
          resources: this.ledger.allocateAll(framework, agent),
        });
    }
    return out;
  }

  allocationChanged(): void {
    // Random order ignores allocations.
  }

  totalsChanged(): void {
    // Random order ignores totals.
  }

  protected frameworkAdded(framework: FrameworkEntry): void {
    this.all.push(framework);
  }

  protected frameworkRemoved(framework: FrameworkEntry): void {
    const index = this.all.indexOf(framework);
    if (index >= 0) this.all.splice(index, 1);
  }

  protected weightChanged(): void {
    // Random order ignores weights.
  }
}

/** The plugin: name, version, the allocator API it supports, and a factory. */
const plugin: AllocatorPlugin = {
  name: 'random',
  version: '1.0.0',
  galaxyApi: '^1',
  create: (options) => new RandomAllocator(options),
};

export default plugin;
