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
 * While a quota or a reservation exists, a pass runs the tenancy stages of `tenancy.ts`
 * instead (reservations, guarantees first, fair share cut to limits); the role sorter then
 * shares out only unreserved resources.
 */
import type { Allocation, AllocatorOptions } from '../allocator.js';
import { LedgerAllocator } from '../common/ledger-allocator.js';
import { SCALAR_COUNT, type AgentEntry, type FrameworkEntry } from '../common/ledger.js';
import { DrfSorter } from './sorter.js';
import { TenancyWalk } from './tenancy.js';

/** Hierarchical weighted DRF. */
export class DrfAllocator extends LedgerAllocator {
  readonly name = 'drf';
  /** Roles in DRF order; a role is active while it has an offerable framework. */
  private readonly roles = new DrfSorter();
  /** Per role, its frameworks in DRF order; a framework is active while it is offerable. */
  private readonly frameworkSorters = new Map<string, DrfSorter>();
  /** Agent indexes of one pass, reused so a pass allocates no array of its own. */
  private readonly order: number[] = [];
  private readonly unreservedTotals = new Float64Array(SCALAR_COUNT);
  private readonly tenancy: TenancyWalk;
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
    this.tenancy = new TenancyWalk(this.ledger, this.quotaBook, this.roles, this.frameworkSorters);
  }

  allocate(): Allocation[] {
    const out: Allocation[] = [];
    if (this.roles.activeCount === 0) return out; // nobody wants offers: touch no agent
    const agents = this.ledger.agents;
    const order = this.order;
    order.length = 0;
    for (const agent of agents) if (agent && this.ledger.allocatable(agent)) order.push(agent.index);
    shuffle(order);
    if (this.tenancyActive) {
      this.tenancy.run(order, out);
      return out;
    }
    this.now = this.ledger.now();
    for (const index of order) {
      const agent = agents[index];
      if (!agent) continue;
      this.agent = agent;
      this.picked = undefined;
      if (this.roles.first(this.acceptRole) === undefined) continue;
      const framework = this.pickedFramework();
      if (!framework) continue;
      out.push({ frameworkId: framework.id, agentId: agent.id, resources: this.ledger.allocateAll(framework, agent) });
    }
    this.agent = undefined;
    this.picked = undefined;
    return out;
  }

  allocationChanged(
    framework: FrameworkEntry,
    delta: Float64Array,
    allocations: number,
    unreservedDelta: Float64Array,
  ): void {
    this.frameworkSorters.get(framework.role)?.update(framework.id, delta, allocations);
    // Across roles only unreserved resources are shared out fairly.
    this.roles.update(framework.role, unreservedDelta, allocations);
  }

  totalsChanged(totals: Float64Array): void {
    const reserved = this.ledger.reservedTotals;
    for (let i = 0; i < SCALAR_COUNT; i++)
      this.unreservedTotals[i] = Math.max(0, (totals[i] ?? 0) - (reserved[i] ?? 0));
    this.roles.setTotal(this.unreservedTotals);
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
