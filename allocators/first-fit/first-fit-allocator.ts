/**
 * A deliberately simple allocator: agents in the ledger's slot order (no shuffle), each offered
 * whole to the next eligible framework in round-robin order. No fairness, no weights. It exists to show that
 * allocators are swappable (`--allocator first-fit`) and as a baseline for the DRF allocator.
 *
 * Tenancy: reservations are offered only to frameworks of their role or below, and unreserved
 * offers are cut so that no role passes its quota limit and the headroom for unmet guarantees is
 * kept (see `common/quota.ts`). Guaranteed roles are not served first: first-fit has no order
 * to put them in.
 */
import type { Allocation, AllocatorOptions } from '../allocator.js';
import { LedgerAllocator } from '../common/ledger-allocator.js';
import type { AgentEntry, FrameworkEntry } from '../common/ledger.js';
import { withinRole } from '../common/reservations.js';

/** Round-robin, first-fit allocation. */
export class FirstFitAllocator extends LedgerAllocator {
  readonly name = 'first-fit';
  private readonly ring: FrameworkEntry[] = [];
  private next = 0;

  constructor(options: AllocatorOptions = {}) {
    super(options);
  }

  private readonly free = new Float64Array(4);
  private readonly amounts = new Float64Array(4);

  allocate(): Allocation[] {
    const out: Allocation[] = [];
    const now = this.ledger.now();
    if (this.tenancyActive) {
      this.quotaBook.beginPass(this.ledger);
      for (const agent of this.ledger.agents)
        if (agent && this.ledger.allocatable(agent)) this.allocateWithTenancy(agent, now, out);
      return out;
    }
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

  /** Reservations to frameworks of their role, then unreserved resources cut by quota. */
  private allocateWithTenancy(agent: AgentEntry, now: number, out: Allocation[]): void {
    for (const role of [...agent.reserved.roles()]) {
      const amounts = this.ledger.reservedFree(agent, role, this.amounts);
      if (!amounts.some((v) => v > 0)) continue;
      const framework = this.nextFramework(agent, now, (f) => withinRole(f.role, role));
      if (!framework) continue;
      const resources = this.ledger.allocateAmounts(framework, agent, amounts, role);
      out.push({ frameworkId: framework.id, agentId: agent.id, resources, reservedRole: role });
    }
    this.ledger.unreservedFree(agent, this.free);
    const framework = this.nextFramework(agent, now, (f) =>
      this.ledger.worthOffering(this.quotaBook.cap(f.role, this.free, this.amounts)),
    );
    if (!framework) return;
    const resources = this.ledger.allocateAmounts(framework, agent, this.amounts);
    this.quotaBook.charge(framework.role, this.amounts);
    out.push({ frameworkId: framework.id, agentId: agent.id, resources });
  }

  /** The next eligible framework in round-robin order that `fits`; advances the ring past it. */
  private nextFramework(
    agent: AgentEntry,
    now: number,
    fits: (framework: FrameworkEntry) => boolean,
  ): FrameworkEntry | undefined {
    for (let tried = 0; tried < this.ring.length; tried++) {
      const framework = this.ring[(this.next + tried) % this.ring.length];
      if (!framework || !this.ledger.eligible(framework, agent, now) || !fits(framework)) continue;
      this.next = (this.next + tried + 1) % this.ring.length;
      return framework;
    }
    return undefined;
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
