/**
 * The hierarchical allocator: the mechanism every allocation policy shares, with the semantics
 * of Mesos' hierarchical allocator. The policy is a {@link Sorter} pair given to it (DRF,
 * round-robin, or a plugin's): one sorter over roles, one per role over its frameworks.
 *
 * One pass visits the agents (shuffled unless the policy says not to); for each active agent with
 * at least the minimum allocatable resources free it walks the roles in the role sorter's order,
 * and within a role its frameworks in that role's sorter's order, and offers everything free on
 * the agent to the first framework that is active, not suppressed and not filtering that agent.
 * Sorters hear of each allocation at once, so the next agent sees the new order.
 *
 * Suppressed and inactive frameworks are deactivated in their role's sorter, and a role with no
 * offerable framework in the role sorter, so the walk never visits them. The role sorter shares
 * out the cluster's unreserved total; each framework sorter's total is what its role holds, so
 * frameworks are ordered by their share of their role's allocation, as in Mesos.
 *
 * While a quota or a reservation exists, a pass runs the tenancy stages of `tenancy.ts` instead
 * (reservations, guarantees first, fair share cut to limits): they hold for every policy.
 */
import type { Allocation, AllocatorOptions } from '../allocator.js';
import { LedgerAllocator } from '../common/ledger-allocator.js';
import { SCALAR_COUNT, type AgentEntry, type FrameworkEntry } from '../common/ledger.js';
import type { AllocatorPolicy, Sorter } from '../sorter.js';
import { TenancyWalk } from './tenancy.js';

/** A role's framework sorter and what the role holds (the sorter's total). */
interface RoleFrameworks {
  readonly sorter: Sorter;
  readonly allocated: Float64Array;
}

/** The allocation mechanism, ordered by a policy's sorters. */
export class HierarchicalAllocator extends LedgerAllocator {
  readonly name: string;
  /** Roles in the policy's order; a role is active while it has an offerable framework. */
  private readonly roles: Sorter;
  /** Where the agents' shuffle and the policy's sorters draw from ({@link AllocatorOptions.random}). */
  private readonly random: () => number;
  /** Per role, its frameworks in the policy's order; a framework is active while it is offerable. */
  private readonly byRole = new Map<string, RoleFrameworks>();
  /** The same sorters, by role, for the tenancy walk. */
  private readonly frameworkSorters = new Map<string, Sorter>();
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

  constructor(
    private readonly policy: AllocatorPolicy,
    options: AllocatorOptions = {},
  ) {
    super(options);
    this.name = policy.name;
    this.random = options.random ?? Math.random;
    this.roles = policy.createSorter('roles', this.random);
    this.tenancy = new TenancyWalk(this.ledger, this.quotaBook, this.roles, this.frameworkSorters);
  }

  allocate(): Allocation[] {
    const out: Allocation[] = [];
    if (this.roles.activeCount === 0) return out; // nobody wants offers: touch no agent
    const agents = this.ledger.agents;
    const order = this.order;
    order.length = 0;
    for (const agent of agents) if (agent && this.ledger.allocatable(agent)) order.push(agent.index);
    if (this.policy.shuffleAgents !== false) shuffle(order, this.random);
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
    const role = this.byRole.get(framework.role);
    if (role) {
      role.sorter.update(framework.id, delta, allocations);
      // Within a role, shares are of what the role holds (reserved resources included).
      for (let i = 0; i < SCALAR_COUNT; i++) role.allocated[i] = (role.allocated[i] ?? 0) + (delta[i] ?? 0);
      role.sorter.setTotal(role.allocated);
    }
    // Across roles only unreserved resources are shared out.
    this.roles.update(framework.role, unreservedDelta, allocations);
  }

  totalsChanged(totals: Float64Array): void {
    const reserved = this.ledger.reservedTotals;
    for (let i = 0; i < SCALAR_COUNT; i++)
      this.unreservedTotals[i] = Math.max(0, (totals[i] ?? 0) - (reserved[i] ?? 0));
    this.roles.setTotal(this.unreservedTotals);
  }

  protected frameworkAdded(framework: FrameworkEntry): void {
    let role = this.byRole.get(framework.role);
    if (!role) {
      role = { sorter: this.policy.createSorter('frameworks', this.random), allocated: new Float64Array(SCALAR_COUNT) };
      this.byRole.set(framework.role, role);
      this.frameworkSorters.set(framework.role, role.sorter);
      this.roles.add(framework.role, false);
    }
    role.sorter.add(framework.id, this.ledger.offerable(framework));
    this.syncRole(framework.role, role.sorter);
  }

  protected frameworkRemoved(framework: FrameworkEntry): void {
    const role = this.byRole.get(framework.role);
    if (!role) return;
    role.sorter.remove(framework.id);
    if (role.sorter.size > 0) {
      this.syncRole(framework.role, role.sorter);
    } else {
      this.byRole.delete(framework.role);
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
  private syncRole(role: string, sorter: Sorter): void {
    if (sorter.activeCount > 0) this.roles.activate(role);
    else this.roles.deactivate(role);
  }

  /** The framework the last walk chose (set inside the acceptors, which TypeScript cannot see). */
  private pickedFramework(): FrameworkEntry | undefined {
    return this.picked;
  }
}

/** Fisher–Yates shuffle in place: Mesos shuffles agents so that no agent is always offered first. */
function shuffle(list: number[], random: () => number): void {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = list[i] ?? 0;
    list[i] = list[j] ?? 0;
    list[j] = t;
  }
}
