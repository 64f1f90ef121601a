/**
 * The allocator plugin interface: level one of Galaxy's two-level scheduling. The master tells
 * the allocator what exists (agents, frameworks, what they use) and asks it, on an interval and
 * on events, which free resources to offer to which framework.
 *
 * Resources handed out by {@link Allocator.allocate} count as allocated to the framework until the
 * master gives them back with {@link Allocator.recoverResources} (offer declined, rescinded or
 * partly used; task finished).
 */
import type { Label, Resources } from '../proto/gen/galaxy/v1/common.js';

/** An agent as the allocator sees it. */
export interface AllocatorAgent {
  readonly id: string;
  readonly hostname: string;
  readonly total: Resources;
  readonly attributes: readonly Label[];
  readonly pool: string;
  /**
   * Static reservations the agent was started with (`galaxy agent --reserve`): scalars only,
   * together at most `total`. Dynamic ones come and go through {@link Allocator.reserve}.
   */
  readonly reservations?: readonly RoleResources[];
}

/** Resources of one agent reserved for one role (and its descendants). */
export interface RoleResources {
  readonly role: string;
  readonly resources: Resources;
}

/** A framework as the allocator sees it. */
export interface AllocatorFramework {
  readonly id: string;
  readonly name: string;
  /** A role path such as `eng/search`; `*` is the default role. */
  readonly role: string;
}

/** One offer's worth of resources: all that `frameworkId` may use on `agentId` now. */
export interface Allocation {
  readonly frameworkId: string;
  readonly agentId: string;
  readonly resources: Resources;
  /**
   * Set when these are resources reserved for this role (the framework's role or an ancestor of
   * it). A reserved and an unreserved part on one agent are two allocations.
   */
  readonly reservedRole?: string;
}

/**
 * Scalar amounts of a quota. In a limit an absent field is unlimited; in a guarantee it is 0.
 * cpus in millicores, mem and disk in bytes, as in {@link Resources}; `ssd`, `hdd` and `tmpfs`
 * are bytes of named disks of that medium (docs/disks.md), which `disk` counts too.
 */
export interface QuotaAmounts {
  readonly cpus?: number;
  readonly mem?: number;
  readonly disk?: number;
  readonly gpus?: number;
  readonly ssd?: number;
  readonly hdd?: number;
  readonly tmpfs?: number;
}

/** A role's quota (Mesos' guarantee and limit). */
export interface Quota {
  /** Offered to the role's subtree ahead of fair sharing until it holds this much. */
  readonly guarantee?: QuotaAmounts;
  /** The role's subtree never holds more than this. */
  readonly limit?: QuotaAmounts;
}

/** A quota with its role, as {@link Allocator.quotas} lists them. */
export interface RoleQuota extends Quota {
  readonly role: string;
}

/** Refuse filter sent with a DECLINE (or ACCEPT). */
export interface RefuseFilter {
  /** Seconds during which the agent is not offered to the framework again (default 5). */
  readonly refuseSeconds?: number;
}

/** Construction options shared by all allocators. */
export interface AllocatorOptions {
  /** Clock in milliseconds; tests inject a fake one. Default `Date.now`. */
  readonly now?: () => number;
  /** An agent is offered only when its free resources reach one of these (Mesos: 0.01 cpu or 32 MiB). */
  readonly minAllocatable?: { readonly cpus: number; readonly mem: number };
  /** Default `refuse_seconds` of filters. Default 5. */
  readonly defaultRefuseSeconds?: number;
  /**
   * Uniform numbers in [0, 1) for what is random in a pass (the agents' order, a random policy's
   * order); tests inject a seeded one so that a failing run replays. Default `Math.random`.
   */
  readonly random?: () => number;
}

/** A role's weight: its dominant share is divided by it. */
export interface RoleWeight {
  readonly role: string;
  readonly weight: number;
}

/**
 * The allocator plugin interface. Every method is synchronous and cheap except
 * {@link Allocator.allocate}, which runs one full allocation pass.
 */
export interface Allocator {
  /** The plugin's name, e.g. `drf`. */
  readonly name: string;

  /** Adds an agent. `used` maps framework id → resources its tasks already hold there (re-registration). */
  addAgent(agent: AllocatorAgent, used: ReadonlyMap<string, Resources>): void;
  /** Removes an agent and whatever was allocated on it. */
  removeAgent(agentId: string): void;
  /** Changes an agent's total. */
  updateAgent(agentId: string, total: Resources): void;
  /** A disconnected agent is kept but not offered. */
  deactivateAgent(agentId: string): void;
  /** Offers a reconnected agent again. */
  activateAgent(agentId: string): void;

  /**
   * Adds a framework. `used` maps agent id → resources it holds there. Frameworks referenced by
   * an agent's `used` must be added first. An inactive framework holds resources but gets no offers.
   */
  addFramework(framework: AllocatorFramework, used: ReadonlyMap<string, Resources>, active: boolean): void;
  /** Removes a framework; what it held is freed. */
  removeFramework(frameworkId: string): void;
  /** Offers to the framework again (it re-subscribed). */
  activateFramework(frameworkId: string): void;
  /** Stops offering to the framework (it disconnected) but keeps what it holds. */
  deactivateFramework(frameworkId: string): void;

  /**
   * Gives back resources allocated to a framework on an agent. With a filter, that agent is not
   * offered to the framework again for `refuseSeconds` (unless it revives).
   */
  recoverResources(frameworkId: string, agentId: string, resources: Resources, filter?: RefuseFilter): void;
  /** Stops offers to the framework until it revives. */
  suppressOffers(frameworkId: string): void;
  /** Clears the framework's filters and un-suppresses it. */
  reviveOffers(frameworkId: string): void;

  /** Sets a role's weight (default 1). Weights must be positive and finite. */
  setWeight(role: string, weight: number): void;
  /** Every weight that was set. */
  weights(): RoleWeight[];

  /**
   * Sets a role's quota (replacing any). A role's consumption is what its subtree holds of
   * unreserved resources plus everything reserved for roles in its subtree, allocated or not;
   * allocation never takes it past the limit, and serves it first while below the guarantee.
   */
  setQuota(role: string, quota: Quota): void;
  /** Removes a role's quota (no-op when it has none). */
  removeQuota(role: string): void;
  /** Every quota that is set. */
  quotas(): RoleQuota[];

  /**
   * Reserves resources of an agent for a role (dynamic reservation; scalars only). Together with
   * the agent's other reservations they must fit its total.
   */
  reserve(agentId: string, role: string, resources: Resources): void;
  /** Gives back (part of) a dynamic reservation; static ones cannot be unreserved. */
  unreserve(agentId: string, role: string, resources: Resources): void;
  /** Every reservation (static and dynamic, merged per role) on an agent; empty when unknown. */
  reservations(agentId: string): RoleResources[];

  /** One allocation pass: what to offer now. What is returned counts as allocated. */
  allocate(): Allocation[];

  /** A framework's dominant share (after its role's weight), for operators. 0 when unknown. */
  share(frameworkId: string): number;

  /**
   * Preemption's set-aside: allocates everything unreserved and free on the agent to the
   * framework now, outside a pass, and returns it (empty when nothing is free). What is returned
   * counts as allocated, as an offer does. Optional: without it preemption sets nothing aside.
   */
  setAside?(frameworkId: string, agentId: string): Resources;

  /**
   * The persistent volumes an agent keeps with no container, whose bytes are held for their
   * framework (docs/disks.md, "Held volumes"): they are in no other framework's offers and count
   * as the framework's allocation. Each call replaces the agent's set; a hold that leaves it is
   * given back as free, unless its key is in `claimed` (a task mounts the volume now: its bytes
   * are that task's). A hold whose bytes are not free now is kept pending, and takes them first
   * when they come free. Optional: an allocator without it holds nothing.
   */
  setVolumeHolds?(agentId: string, holds: readonly VolumeHold[], claimed: ReadonlySet<string>): void;

  /** The holds of `frameworkId` on the agent whose bytes it holds now (not pending). */
  heldVolumes?(frameworkId: string, agentId: string): VolumeHold[];
}

/** Disk bytes held for a framework's kept persistent volume (see {@link Allocator.setVolumeHolds}). */
export interface VolumeHold {
  /** The allocator client (framework) the bytes are held for. */
  readonly frameworkId: string;
  /** The volume's key, unique on its agent. */
  readonly key: string;
  /** The agent's named disk, and the bytes held on it. */
  readonly disk: string;
  readonly size: number;
}

/**
 * What a whole-allocator module exports: a factory plus metadata the loader checks. Most
 * plugins need not write an allocator: an `AllocatorPolicyPlugin` (a sorter, `sorter.ts`) is run by the
 * hierarchical allocator, which keeps quota and reservations for it.
 */
export interface AllocatorPlugin {
  readonly kind: 'allocator';
  readonly name: string;
  readonly version: string;
  /** semver range of Galaxy's allocator API this plugin supports, e.g. `^1`. */
  readonly galaxyApi: string;
  create(options: AllocatorOptions): Allocator;
}

/**
 * The version of the allocator API that this Galaxy implements. 1.1 added tenancy (quota,
 * reservations, set-aside); 1.2 added policy plugins (`createSorter`, `sorter.ts`); 1.3 the
 * optional held volumes (`setVolumeHolds`, `heldVolumes`); 1.4 quota amounts per disk medium
 * (`QuotaAmounts.ssd`, `hdd`, `tmpfs`).
 */
export const ALLOCATOR_API_VERSION = '1.4.0';
