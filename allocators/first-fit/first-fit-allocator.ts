/**
 * A deliberately simple allocator: agents in the ledger's slot order (no shuffle), each offered
 * whole to the next eligible framework in round-robin order. No fairness, no weights. It exists to show that
 * allocators are swappable (`--allocator first-fit`) and as a baseline for the DRF allocator.
 */
import type { Allocation, AllocatorOptions } from '../allocator.js';
import { LedgerAllocator } from '../common/ledger-allocator.js';
import type { FrameworkEntry } from '../common/ledger.js';

/** Round-robin, first-fit allocation. */
export class FirstFitAllocator extends LedgerAllocator {
  readonly name = 'first-fit';
  private readonly ring: FrameworkEntry[] = [];
  private next = 0;

  constructor(options: AllocatorOptions = {}) {
    super(options);
  }

  allocate(): Allocation[] {
    const out: Allocation[] = [];
    const now = this.ledger.now();
    for (const agent of this.ledger.agents) {
      if (!agent || !this.ledger.allocatable(agent)) continue;
      for (let tried = 0; tried < this.ring.length; tried++) {
        const framework = this.ring[(this.next + tried) % this.ring.length];
        if (!framework || !this.ledger.eligible(framework, agent, now)) continue;
        out.push({
          frameworkId: framework.id,
          agentId: agent.id,
          resources: this.ledger.allocateAll(framework, agent),
        });
        this.next = (this.next + tried + 1) % this.ring.length;
        break;
      }
    }
    return out;
  }

  allocationChanged(): void {
    // Order does not depend on allocations.
  }

  totalsChanged(): void {
    // Order does not depend on totals.
  }

  protected frameworkAdded(framework: FrameworkEntry): void {
    this.ring.push(framework);
  }

  protected frameworkRemoved(framework: FrameworkEntry): void {
    const index = this.ring.indexOf(framework);
    if (index >= 0) this.ring.splice(index, 1);
    if (this.next >= this.ring.length) this.next = 0;
  }

  protected weightChanged(): void {
    // Weights are recorded by the base class for operators but do not affect first-fit.
  }
}
