/**
 * The pass with tenancy: reservations, quota guarantees and quota limits (Mesos' hierarchical
 * allocator semantics, as of Mesos 1.9). {@link HierarchicalAllocator} runs it instead of its
 * plain walk whenever a quota or a reservation exists. "In order" below is the policy's order:
 * the sorters', whatever they are (DRF, round-robin, …); the cuts hold for every policy.
 *
 * 1. **Reservations** (per agent): what is reserved on the agent for role `r` and not held is
 *    offered, whole, to the first eligible framework — in order — whose role is `r` or a
 *    descendant of `r`. Nobody else ever gets it. Reserved resources do not count toward fair
 *    share across roles: the role sorter sees only unreserved allocations and shares them out
 *    of the cluster's unreserved total (total − all reservations). Within a role, frameworks
 *    are ordered on everything they hold, as a share of all the role holds. Reservations do count toward quota consumption
 *    (see `common/quota.ts`), whether allocated or not.
 * 2. **Guarantees first** (per agent): roles whose path has an unmet guarantee are walked in
 *    order before everyone else and offered unreserved resources cut to
 *    `min(free, unmet + spare, limit headroom)`, where `spare` is the cluster's unreserved free
 *    minus the unmet guarantees of all (top-most) quota roles — connected or not.
 * 3. **Fair share** (per agent): every role in order, with the same cut: the headroom kept for
 *    unmet guarantees of other roles is not handed out, and no role's subtree passes its limit.
 *
 * Unreserved offers carry named disk shares cut by quota per medium (`common/media.ts`); reserved
 * ones carry none (named disks cannot be reserved).
 *
 * An agent may yield several offers in one pass (a reserved part, then unreserved parts cut by
 * quota for different roles); a framework gets at most one unreserved offer per agent per pass.
 */
import type { Allocation } from '../allocator.js';
import type { AgentEntry, FrameworkEntry, Ledger } from '../common/ledger.js';
import { cutDisks, freeByMedium, MEDIA_OFFSET } from '../common/media.js';
import { QUOTA_FIELDS, type QuotaBook } from '../common/quota.js';
import { withinRole } from '../common/reservations.js';
import type { Sorter } from '../sorter.js';

type Mode = 'reserved' | 'guarantee' | 'fair';

/** One pass of the hierarchical allocator with reservations and quotas. */
export class TenancyWalk {
  private agent: AgentEntry | undefined;
  private now = 0;
  private mode: Mode = 'fair';
  private reservedRole = '';
  private picked: FrameworkEntry | undefined;
  /** `agentIndex/frameworkId` of unreserved offers made this pass. */
  private readonly offered = new Set<string>();
  private readonly free = new Float64Array(QUOTA_FIELDS.length);
  private readonly amounts = new Float64Array(QUOTA_FIELDS.length);

  private readonly acceptFramework = (id: string): boolean => {
    const framework = this.ledger.frameworks.get(id);
    const agent = this.agent;
    if (!framework || !agent || !this.ledger.eligible(framework, agent, this.now)) return false;
    if (this.mode !== 'reserved' && this.offered.has(`${agent.index}/${id}`)) return false;
    this.picked = framework;
    return true;
  };

  private readonly acceptRole = (role: string): boolean => {
    if (this.mode === 'reserved') {
      if (!withinRole(role, this.reservedRole)) return false;
    } else {
      if (this.mode === 'guarantee' && !this.quotas.belowGuarantee(role)) return false;
      this.quotas.cap(role, this.free, this.amounts);
      if (!this.ledger.worthOffering(this.amounts)) return false;
    }
    return this.frameworkSorters.get(role)?.first(this.acceptFramework) !== undefined;
  };

  constructor(
    private readonly ledger: Ledger,
    private readonly quotas: QuotaBook,
    private readonly roles: Sorter,
    private readonly frameworkSorters: ReadonlyMap<string, Sorter>,
  ) {}

  /** Runs the three stages over the agents in `order` (ledger indexes), appending to `out`. */
  run(order: readonly number[], out: Allocation[]): void {
    this.now = this.ledger.now();
    this.offered.clear();
    this.quotas.beginPass(this.ledger);
    for (const agent of this.each(order)) {
      if (!agent.reserved.empty) this.offerReservations(agent, out);
      if (this.quotas.anyUnmet()) this.offerUnreserved(agent, 'guarantee', out);
    }
    for (const agent of this.each(order)) this.offerUnreserved(agent, 'fair', out);
    this.agent = undefined;
    this.picked = undefined;
  }

  private *each(order: readonly number[]): Generator<AgentEntry> {
    for (const index of order) {
      const agent = this.ledger.agents[index];
      if (agent) {
        this.agent = agent;
        yield agent;
      }
    }
  }

  /** Stage 1: each reservation's free part to a framework of its role or below. */
  private offerReservations(agent: AgentEntry, out: Allocation[]): void {
    this.mode = 'reserved';
    for (const role of [...agent.reserved.roles()]) {
      const amounts = this.ledger.reservedFree(agent, role, this.amounts);
      if (!this.ledger.worthOffering(amounts) && !((amounts[2] ?? 0) > 0 || (amounts[3] ?? 0) > 0)) continue;
      this.reservedRole = role;
      this.picked = undefined;
      if (this.roles.first(this.acceptRole) === undefined) continue;
      const framework = this.pickedFramework();
      if (!framework) continue;
      const resources = this.ledger.allocateAmounts(framework, agent, amounts, role);
      out.push({ frameworkId: framework.id, agentId: agent.id, resources, reservedRole: role });
    }
  }

  /** Stages 2 and 3: unreserved resources, cut by quota, to roles in order. */
  private offerUnreserved(agent: AgentEntry, mode: Mode, out: Allocation[]): void {
    this.mode = mode;
    for (;;) {
      this.ledger.unreservedFree(agent, this.free);
      freeByMedium(agent, this.free, MEDIA_OFFSET);
      if (!this.ledger.worthOffering(this.free)) return;
      this.picked = undefined;
      if (this.roles.first(this.acceptRole) === undefined) return;
      const framework = this.pickedFramework();
      if (!framework) return;
      // acceptRole left the framework's cut in `amounts`; the disk shares make it exact.
      const named = this.free.subarray(MEDIA_OFFSET).reduce((sum, v) => sum + v, 0);
      const disks = cutDisks(agent.freeDisks, this.amounts, (this.free[2] ?? 0) - named);
      const resources = this.ledger.allocateAmounts(framework, agent, this.amounts, undefined, disks);
      this.quotas.charge(framework.role, this.amounts);
      this.offered.add(`${agent.index}/${framework.id}`);
      out.push({ frameworkId: framework.id, agentId: agent.id, resources });
    }
  }

  /** The framework the last walk chose (set inside the acceptors, which TypeScript cannot see). */
  private pickedFramework(): FrameworkEntry | undefined {
    return this.picked;
  }
}
