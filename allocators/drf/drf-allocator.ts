/**
 * Galaxy's default allocator: hierarchical weighted Dominant Resource Fairness, with the
 * semantics of Mesos' hierarchical allocator.
 *
 * One pass shuffles the agents; for each agent with enough free resources it walks the roles in
 * DRF order, and within a role its frameworks in DRF order, and offers everything free on the
 * agent to the first framework that is active, not suppressed and not filtering that agent.
 *
 * Room for what comes with tenancy: quota guarantees are served by a first pass over roles
 * below their guarantee, quota limits cap what a role is offered, and reserved resources are
 * offered only to their role. All three slot into {@link DrfAllocator.allocate} before and
 * inside the walk below, without changing the sorters.
 */
import type { Allocation, AllocatorOptions } from '../allocator.js';
import { LedgerAllocator } from '../common/ledger-allocator.js';
import type { AgentEntry, FrameworkEntry } from '../common/ledger.js';
import { DrfSorter } from './sorter.js';

/** Hierarchical weighted DRF. */
export class DrfAllocator extends LedgerAllocator {
  readonly name = 'drf';
  /** Roles in DRF order. */
  private readonly roles = new DrfSorter();
  /** Per role, its frameworks in DRF order. */
  private readonly frameworkSorters = new Map<string, DrfSorter>();
  private readonly order: number[] = [];
  // State of the current walk, kept in fields so the hot loop creates no closures.
  private agent: AgentEntry | undefined;
  private now = 0;
  private picked: FrameworkEntry | undefined;
  private readonly acceptFramework = (id: string): boolean => {
    const framework = this.ledger.frameworks.get(id);
    if (framework && this.agent && this.ledger.eligible(framework, this.agent, this.now)) {
      this.picked = framework;
      return true;
    }
    return false;
  };
  private readonly acceptRole = (role: string): boolean =>
    this.frameworkSorters.get(role)?.first(this.acceptFramework) !== undefined;

  constructor(options: AllocatorOptions = {}) {
    super(options);
  }

  allocate(): Allocation[] {
    const out: Allocation[] = [];
    const agents = this.ledger.agents;
    if (!this.anyOfferable()) return out;
    const order = this.order;
    order.length = 0;
    for (const agent of agents) if (agent && this.ledger.allocatable(agent)) order.push(agent.index);
    // Fisher–Yates, as Mesos shuffles agents so that no agent is always offered first.
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1));
      const t = order[i] ?? 0;
      order[i] = order[j] ?? 0;
      order[j] = t;
    }
    this.now = this.ledger.now();
    for (const index of order) {
      const agent = agents[index];
      if (!agent) continue;
      this.agent = agent;
      this.picked = undefined;
      if (this.roles.first(this.acceptRole) === undefined) continue;
      const framework = this.takePicked();
      if (!framework) continue;
      out.push({ frameworkId: framework.id, agentId: agent.id, resources: this.ledger.allocateAll(framework, agent) });
    }
    this.agent = undefined;
    this.picked = undefined;
    return out;
  }

  allocationChanged(framework: FrameworkEntry, delta: Float64Array, allocations: number): void {
    this.frameworkSorters.get(framework.role)?.update(framework.id, delta, allocations);
    this.roles.update(framework.role, delta, allocations);
  }

  totalsChanged(totals: Float64Array): void {
    this.roles.setTotal(totals);
    for (const sorter of this.frameworkSorters.values()) sorter.setTotal(totals);
  }

  protected frameworkAdded(framework: FrameworkEntry): void {
    let sorter = this.frameworkSorters.get(framework.role);
    if (!sorter) {
      sorter = new DrfSorter();
      sorter.setTotal(this.ledger.totals);
      this.frameworkSorters.set(framework.role, sorter);
      this.roles.add(framework.role);
    }
    sorter.add(framework.id);
  }

  protected frameworkRemoved(framework: FrameworkEntry): void {
    const sorter = this.frameworkSorters.get(framework.role);
    sorter?.remove(framework.id);
    if (sorter?.sorted().length === 0) {
      this.frameworkSorters.delete(framework.role);
      this.roles.remove(framework.role);
    }
  }

  protected weightChanged(role: string, weight: number): void {
    this.roles.setWeight(role, weight);
  }

  /** The framework the last walk chose (set by the acceptors, which TypeScript cannot see). */
  private takePicked(): FrameworkEntry | undefined {
    const picked = this.picked;
    this.picked = undefined;
    return picked;
  }

  /** False when no framework could take an offer: the pass can stop before touching agents. */
  private anyOfferable(): boolean {
    for (const framework of this.ledger.frameworks.values()) if (framework.active && !framework.suppressed) return true;
    return false;
  }
}
