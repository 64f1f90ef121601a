/**
 * Galaxy's default allocator: hierarchical weighted Dominant Resource Fairness, with the
 * semantics of Mesos' hierarchical allocator.
 *
 * One pass shuffles the agents; for each active agent with at least the minimum allocatable
 * resources free it walks the roles in DRF order, and within a role its frameworks in DRF order,
 * and offers everything free on the agent to the first framework that is active, not suppressed
 * and not filtering that agent. Shares move at once, so the next agent sees the new order.
 *
 * Two levels of {@link DrfSorter}, as in Mesos: one over roles (hierarchical, weighted), and one
 * per role over its frameworks (flat, unweighted). Suppressed and inactive frameworks are
 * deactivated in their role's sorter, and a role with no offerable framework in the role sorter,
 * so the walk never visits them.
 *
 * Quota guarantees and limits and reservations are not enforced yet; `tenancy.ts` describes the
 * stages they add around the walk in {@link DrfAllocator.allocate}.
 */
import type { Allocation, AllocatorOptions } from '../allocator.js';
import { LedgerAllocator } from '../common/ledger-allocator.js';
import type { AgentEntry, FrameworkEntry } from '../common/ledger.js';
import { DrfSorter } from './sorter.js';

/** Hierarchical weighted DRF. */
export class DrfAllocator extends LedgerAllocator {
  readonly name = 'drf';
  /** Roles in DRF order; a role is active while it has an offerable framework. */
  private readonly roles = new DrfSorter();
  /** Per role, its frameworks in DRF order; a framework is active while it is offerable. */
  private readonly frameworkSorters = new Map<string, DrfSorter>();
  /** Agent indexes of one pass, reused so a pass allocates no array of its own. */
  private readonly order: number[] = [];
  // State of the current walk, in fields so that the two acceptors below are created once and
  // the hot loop creates no closures.
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
    if (this.roles.activeCount === 0) return out; // nobody wants offers: touch no agent
    const agents = this.ledger.agents;
    const order = this.order;
    order.length = 0;
    for (const agent of agents) if (agent && this.ledger.allocatable(agent)) order.push(agent.index);
    shuffle(order);
    this.now = this.ledger.now();
    // Tenancy stages 1 and 2 (reservations, guarantees) will run here, before the fair-share walk.
    for (const index of order) {
      const agent = agents[index];
      if (!agent) continue;
      this.agent = agent;
      this.picked = undefined;
      if (this.roles.first(this.acceptRole) === undefined) continue;
      const framework = this.pickedFramework();
      if (!framework) continue;
      // Tenancy stage 3 will cut this to the role's headroom under its quota limit.
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
      sorter = new DrfSorter({ hierarchical: false });
      sorter.setTotal(this.ledger.totals);
      this.frameworkSorters.set(framework.role, sorter);
      this.roles.add(framework.role, false);
    }
    sorter.add(framework.id, this.ledger.offerable(framework));
    this.syncRole(framework.role, sorter);
  }

  protected frameworkRemoved(framework: FrameworkEntry): void {
    const sorter = this.frameworkSorters.get(framework.role);
    if (!sorter) return;
    sorter.remove(framework.id);
    if (sorter.size > 0) {
      this.syncRole(framework.role, sorter);
    } else {
      this.frameworkSorters.delete(framework.role);
      this.roles.remove(framework.role);
    }
  }

  protected override offerableChanged(framework: FrameworkEntry): void {
    const sorter = this.frameworkSorters.get(framework.role);
    if (!sorter) return;
    if (this.ledger.offerable(framework)) sorter.activate(framework.id);
    else sorter.deactivate(framework.id);
    this.syncRole(framework.role, sorter);
  }

  protected weightChanged(role: string, weight: number): void {
    this.roles.setWeight(role, weight);
  }

  /** A role is walked only while one of its frameworks wants offers. */
  private syncRole(role: string, sorter: DrfSorter): void {
    if (sorter.activeCount > 0) this.roles.activate(role);
    else this.roles.deactivate(role);
  }

  /** The framework the last walk chose (set inside the acceptors, which TypeScript cannot see). */
  private pickedFramework(): FrameworkEntry | undefined {
    return this.picked;
  }
}

/** Fisher–Yates shuffle in place: Mesos shuffles agents so that no agent is always offered first. */
function shuffle(list: number[]): void {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = list[i] ?? 0;
    list[i] = list[j] ?? 0;
    list[j] = t;
  }
}
