/**
 * A base for allocators built on the {@link Ledger}: it implements every bookkeeping method of
 * the {@link Allocator} interface, so that a concrete allocator supplies only its order
 * (`allocate`) and what it needs to hear about allocation changes.
 */
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { GalaxyError } from '../../core/errors.js';
import { emptyResources } from '../../core/resources.js';
import { checkRole } from '../../core/validate.js';
import type {
  Allocation,
  Allocator,
  AllocatorAgent,
  AllocatorFramework,
  AllocatorOptions,
  Quota,
  RefuseFilter,
  RoleQuota,
  RoleResources,
  RoleWeight,
  VolumeHold,
} from '../allocator.js';
import { Ledger, SCALAR_COUNT, type FrameworkEntry, type LedgerListener } from './ledger.js';
import { QuotaBook } from './quota.js';
import { VolumeHoldBook } from './volume-holds.js';

/** Bookkeeping shared by all built-in allocators. */
export abstract class LedgerAllocator implements Allocator, LedgerListener {
  abstract readonly name: string;
  protected readonly ledger: Ledger;
  protected readonly roleWeights = new Map<string, number>();
  /** Quotas set through {@link LedgerAllocator.setQuota}; policies that honour them read it. */
  protected readonly quotaBook = new QuotaBook();
  /** Bytes held for kept persistent volumes (./volume-holds.ts). */
  protected readonly volumeHolds: VolumeHoldBook;

  constructor(options: AllocatorOptions) {
    this.ledger = new Ledger(options, this);
    this.volumeHolds = new VolumeHoldBook(this.ledger);
  }

  abstract allocate(): Allocation[];
  abstract allocationChanged(
    framework: FrameworkEntry,
    delta: Float64Array,
    allocations: number,
    unreservedDelta: Float64Array,
  ): void;
  abstract totalsChanged(totals: Float64Array): void;
  /** Called after a framework joined the ledger. */
  protected abstract frameworkAdded(framework: FrameworkEntry): void;
  /** Called after a framework left the ledger (its allocations already released). */
  protected abstract frameworkRemoved(framework: FrameworkEntry): void;
  /** Called after a role's weight changed. */
  protected abstract weightChanged(role: string, weight: number): void;
  /**
   * Called after a framework became, or stopped being, {@link Ledger.offerable} (activated,
   * deactivated, suppressed, revived). Policies that skip such frameworks cheaply listen here;
   * the default ignores it.
   */
  protected offerableChanged(_framework: FrameworkEntry): void {
    // Order-free policies find out in the walk itself, through Ledger.eligible.
  }

  addAgent(agent: AllocatorAgent, used: ReadonlyMap<string, Resources>): void {
    this.ledger.addAgent(agent, used);
  }

  removeAgent(agentId: string): void {
    this.volumeHolds.forgetAgent(agentId);
    this.ledger.removeAgent(agentId);
  }

  updateAgent(agentId: string, total: Resources): void {
    this.ledger.updateAgent(agentId, total);
    this.volumeHolds.applyPending(agentId);
  }

  deactivateAgent(agentId: string): void {
    this.ledger.agent(agentId).active = false;
  }

  activateAgent(agentId: string): void {
    this.ledger.agent(agentId).active = true;
  }

  addFramework(framework: AllocatorFramework, used: ReadonlyMap<string, Resources>, active: boolean): void {
    checkRole(framework.role);
    const agents = [...used].map(([agentId, resources]) => [this.ledger.agent(agentId), resources] as const);
    // The policy learns of the framework before the ledger reports what it holds.
    const entry = this.ledger.addFramework(framework, active);
    this.frameworkAdded(entry);
    for (const [agent, resources] of agents) this.ledger.holdExisting(entry, agent, resources);
  }

  removeFramework(frameworkId: string): void {
    this.volumeHolds.forgetFramework(frameworkId);
    this.frameworkRemoved(this.ledger.removeFramework(frameworkId));
  }

  activateFramework(frameworkId: string): void {
    const framework = this.ledger.framework(frameworkId);
    framework.active = true;
    this.offerableChanged(framework);
  }

  deactivateFramework(frameworkId: string): void {
    const framework = this.ledger.framework(frameworkId);
    framework.active = false;
    // As Mesos does: a framework that comes back starts without the filters of its old session.
    framework.filters.clear();
    this.offerableChanged(framework);
  }

  recoverResources(frameworkId: string, agentId: string, resources: Resources, filter?: RefuseFilter): void {
    this.ledger.recover(frameworkId, agentId, resources, filter);
    // Bytes that come back go to a held volume waiting for them first.
    this.volumeHolds.applyPending(agentId);
  }

  setVolumeHolds(agentId: string, holds: readonly VolumeHold[], claimed: ReadonlySet<string>): void {
    this.volumeHolds.set(agentId, holds, claimed);
  }

  heldVolumes(frameworkId: string, agentId: string): VolumeHold[] {
    return this.volumeHolds.held(frameworkId, agentId);
  }

  suppressOffers(frameworkId: string): void {
    const framework = this.ledger.framework(frameworkId);
    framework.suppressed = true;
    this.offerableChanged(framework);
  }

  reviveOffers(frameworkId: string): void {
    const framework = this.ledger.framework(frameworkId);
    framework.suppressed = false;
    framework.filters.clear();
    this.offerableChanged(framework);
  }

  setWeight(role: string, weight: number): void {
    checkRole(role);
    if (!(Number.isFinite(weight) && weight > 0)) {
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `weight of role ${role} must be positive and finite, got ${weight}`,
      );
    }
    this.roleWeights.set(role, weight);
    this.weightChanged(role, weight);
  }

  setQuota(role: string, quota: Quota): void {
    this.quotaBook.set(role, quota);
  }

  removeQuota(role: string): void {
    this.quotaBook.remove(role);
  }

  quotas(): RoleQuota[] {
    return this.quotaBook.list();
  }

  reserve(agentId: string, role: string, resources: Resources): void {
    this.ledger.reserve(agentId, role, resources);
  }

  unreserve(agentId: string, role: string, resources: Resources): void {
    this.ledger.unreserve(agentId, role, resources);
  }

  reservations(agentId: string): RoleResources[] {
    return this.ledger.agentById.get(agentId)?.reserved.list() ?? [];
  }

  /** True when quotas or reservations exist: a pass must run the tenancy stages. */
  protected get tenancyActive(): boolean {
    return this.quotaBook.size > 0 || this.ledger.reservingAgents > 0;
  }

  weights(): RoleWeight[] {
    return [...this.roleWeights].map(([role, weight]) => ({ role, weight }));
  }

  share(frameworkId: string): number {
    const framework = this.ledger.frameworks.get(frameworkId);
    if (!framework) return 0;
    let share = 0;
    for (let i = 0; i < SCALAR_COUNT; i++) {
      const total = this.ledger.totals[i] ?? 0;
      if (total > 0) share = Math.max(share, (framework.allocated[i] ?? 0) / total);
    }
    return share / (this.roleWeights.get(framework.role) ?? 1);
  }

  setAside(frameworkId: string, agentId: string): Resources {
    const framework = this.ledger.framework(frameworkId);
    const agent = this.ledger.agent(agentId);
    if (!agent.free.some((v) => v > 0) && agent.freePorts.length === 0) return emptyResources();
    return this.ledger.allocateAll(framework, agent);
  }
}
