/**
 * The bookkeeping every allocator needs: agents and what is free on them, frameworks and what
 * they hold where, refuse filters, suppression. Allocators add only their ordering policy.
 *
 * Scalars live in `Float64Array(4)` vectors ordered as {@link SCALARS} so that the hot path of an
 * allocation pass does arithmetic on numbers, not on objects.
 */
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { addRanges, normalizeRanges, subtractRanges, type Range } from '../../core/ranges.js';
import { addResources, emptyResources, subtractResources } from '../../core/resources.js';
import { GalaxyError } from '../../core/errors.js';
import { addDisks, DISK_MEDIA, disksOf, subtractDisks, withDisks, type DiskResource } from '../../core/disks.js';
import type { AllocatorAgent, AllocatorFramework, AllocatorOptions, RefuseFilter } from '../allocator.js';
import { DEFAULT_REFUSE_SECONDS, RefuseFilters, refuseMillis } from './filters.js';
import { countMedia } from './media.js';
import { AgentReservations, withinRole } from './reservations.js';

/** Number of scalar resources: cpus, mem, disk, gpus. */
export const SCALAR_COUNT = 4;

/** Copies a resource's scalars into `out`. */
export function scalarsOf(r: Resources, out: Float64Array = new Float64Array(SCALAR_COUNT)): Float64Array {
  out[0] = r.cpus;
  out[1] = r.mem;
  out[2] = r.disk;
  out[3] = r.gpus;
  return out;
}

/** An agent in the ledger. */
export interface AgentEntry {
  /** Dense, reused slot number: filters and the allocation order use it instead of the id. */
  readonly index: number;
  readonly id: string;
  readonly spec: AllocatorAgent;
  total: Resources;
  /** Free scalars. */
  readonly free: Float64Array;
  freePorts: Range[];
  /** Free bytes of each named disk (offered whole, as ports are; docs/disks.md). */
  freeDisks: DiskResource[];
  active: boolean;
  /** What each framework holds here. */
  readonly allocations: Map<FrameworkEntry, Resources>;
  /** What is reserved here for which role, and how much of it frameworks hold. */
  readonly reserved: AgentReservations<FrameworkEntry>;
}

/** A framework in the ledger. */
export interface FrameworkEntry {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  active: boolean;
  suppressed: boolean;
  /** Agents this framework declined, until their filters expire. */
  readonly filters: RefuseFilters;
  /** What it holds on each agent. */
  readonly allocations: Map<AgentEntry, Resources>;
  /** Sum of its scalars over all agents. */
  readonly allocated: Float64Array;
  /** Part of {@link FrameworkEntry.allocated} that is reserved resources. */
  readonly reservedAllocated: Float64Array;
  /** Bytes of named disks it holds, per medium in the order of `DISK_MEDIA` (also in `allocated`'s disk). */
  readonly mediaAllocated: Float64Array;
}

/** Told about every change of a framework's allocation, so an ordering policy can keep up. */
export interface LedgerListener {
  /**
   * `delta` holds the scalar change (positive on allocation); `allocations` is +1 for a new
   * allocation; `unreservedDelta` is the part of the change in unreserved resources (a
   * reservation that shrinks below what is held turns held reserved resources into unreserved
   * ones: `delta` 0, `unreservedDelta` positive).
   */
  allocationChanged(
    framework: FrameworkEntry,
    delta: Float64Array,
    allocations: number,
    unreservedDelta: Float64Array,
  ): void;
  /** The cluster's totals (or {@link Ledger.reservedTotals}) changed. */
  totalsChanged(totals: Float64Array): void;
}

/** The allocators' shared ledger. */
export class Ledger {
  readonly agents: (AgentEntry | undefined)[] = [];
  readonly agentById = new Map<string, AgentEntry>();
  readonly frameworks = new Map<string, FrameworkEntry>();
  readonly totals = new Float64Array(SCALAR_COUNT);
  /** Sum of every reservation on every agent. */
  readonly reservedTotals = new Float64Array(SCALAR_COUNT);
  /** Role → its reservations summed over agents. */
  readonly reservedByRole = new Map<string, Float64Array>();
  /** Agents with at least one reservation: allocators skip reservation work while it is 0. */
  reservingAgents = 0;
  private readonly freeIndexes: number[] = [];
  private readonly delta = new Float64Array(SCALAR_COUNT);
  private readonly unreservedDelta = new Float64Array(SCALAR_COUNT);
  private readonly zero = new Float64Array(SCALAR_COUNT);
  readonly now: () => number;
  /** Smallest cpus (millicores) worth offering. */
  readonly minCpus: number;
  /** Smallest mem (bytes) worth offering. */
  readonly minMem: number;
  private readonly defaultRefuseSeconds: number;

  constructor(
    options: AllocatorOptions,
    private readonly listener: LedgerListener,
  ) {
    this.now = options.now ?? Date.now;
    this.minCpus = options.minAllocatable?.cpus ?? 10;
    this.minMem = options.minAllocatable?.mem ?? 32 * 1024 * 1024;
    this.defaultRefuseSeconds = options.defaultRefuseSeconds ?? DEFAULT_REFUSE_SECONDS;
  }

  /** The agent, or a coded error. */
  agent(id: string): AgentEntry {
    const agent = this.agentById.get(id);
    if (!agent) throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `allocator: no agent ${id}`);
    return agent;
  }

  /** The framework, or a coded error. */
  framework(id: string): FrameworkEntry {
    const framework = this.frameworks.get(id);
    if (!framework) throw new GalaxyError('GALAXY_E_FRAMEWORK_UNKNOWN', `allocator: no framework ${id}`);
    return framework;
  }

  /** Adds an agent; `used` (framework id → resources) is already held there. */
  addAgent(spec: AllocatorAgent, used: ReadonlyMap<string, Resources>): void {
    if (this.agentById.has(spec.id))
      throw new GalaxyError('GALAXY_E_AGENT_DUPLICATE', `allocator: agent ${spec.id} exists`);
    const index = this.freeIndexes.pop() ?? this.agents.length;
    const agent: AgentEntry = {
      index,
      id: spec.id,
      spec,
      total: spec.total,
      free: scalarsOf(spec.total),
      freePorts: normalizeRanges(spec.total.ports),
      freeDisks: [...disksOf(spec.total)],
      active: true,
      allocations: new Map(),
      reserved: new AgentReservations(),
    };
    const frameworks = [...used].map(([frameworkId, resources]) => [this.framework(frameworkId), resources] as const);
    for (const { role, resources } of spec.reservations ?? [])
      agent.reserved.add(role, resources, 'static', spec.total);
    this.agents[index] = agent;
    this.agentById.set(spec.id, agent);
    this.changeReservations(agent, 1);
    this.changeTotals(agent.total, 1);
    for (const [framework, resources] of frameworks) this.holdExisting(framework, agent, resources);
  }

  /** Removes an agent, releasing what frameworks held there and forgetting filters on it. */
  removeAgent(id: string): void {
    const agent = this.agent(id);
    for (const [framework, resources] of [...agent.allocations]) this.release(framework, agent, resources);
    for (const framework of this.frameworks.values()) framework.filters.forget(agent.index);
    this.changeReservations(agent, -1);
    this.changeTotals(agent.total, -1);
    this.agents[agent.index] = undefined;
    this.agentById.delete(id);
    this.freeIndexes.push(agent.index);
  }

  /** Changes an agent's total; what is free is recomputed from what frameworks hold. */
  updateAgent(id: string, total: Resources): void {
    const agent = this.agent(id);
    this.changeTotals(agent.total, -1);
    agent.total = total;
    this.changeTotals(total, 1);
    let held = emptyResources();
    for (const r of agent.allocations.values()) held = addResources(held, r);
    const free = subtractResources(total, held);
    scalarsOf(free, agent.free);
    agent.freePorts = free.ports;
    agent.freeDisks = [...disksOf(free)];
  }

  /** Adds a framework holding nothing; see {@link Ledger.holdExisting} for what it already holds. */
  addFramework(spec: AllocatorFramework, active: boolean): FrameworkEntry {
    if (this.frameworks.has(spec.id))
      throw new GalaxyError('GALAXY_E_FRAMEWORK_DUPLICATE', `allocator: framework ${spec.id} exists`);
    const framework: FrameworkEntry = {
      id: spec.id,
      name: spec.name,
      role: spec.role,
      active,
      suppressed: false,
      filters: new RefuseFilters(),
      allocations: new Map(),
      allocated: new Float64Array(SCALAR_COUNT),
      reservedAllocated: new Float64Array(SCALAR_COUNT),
      mediaAllocated: new Float64Array(DISK_MEDIA.length),
    };
    this.frameworks.set(spec.id, framework);
    return framework;
  }

  /** Removes a framework and frees what it held; returns its (now detached) entry. */
  removeFramework(id: string): FrameworkEntry {
    const framework = this.framework(id);
    for (const [agent, resources] of [...framework.allocations]) this.release(framework, agent, resources);
    this.frameworks.delete(id);
    return framework;
  }

  /** True when the agent's free resources reach the minimum allocatable size. */
  allocatable(agent: AgentEntry): boolean {
    return agent.active && ((agent.free[0] ?? 0) >= this.minCpus || (agent.free[1] ?? 0) >= this.minMem);
  }

  /** True when the framework wants offers at all: active and not suppressed. */
  offerable(framework: FrameworkEntry): boolean {
    return framework.active && !framework.suppressed;
  }

  /** True when the framework may be offered this agent now. Expired filters are dropped here. */
  eligible(framework: FrameworkEntry, agent: AgentEntry, now: number): boolean {
    return framework.active && !framework.suppressed && !framework.filters.blocks(agent.index, now);
  }

  /** True when `amounts` (cpus, mem, …) reach the minimum worth offering. */
  worthOffering(amounts: ArrayLike<number>): boolean {
    return (amounts[0] ?? 0) >= this.minCpus || (amounts[1] ?? 0) >= this.minMem;
  }

  /** Unreserved free scalars of the agent into `out`: free minus what reservations still keep. */
  unreservedFree(agent: AgentEntry, out: Float64Array): Float64Array {
    out.set(agent.free);
    if (agent.reserved.empty) return out;
    agent.reserved.subtractUnheld(out);
    return out;
  }

  /** Free scalars reserved for exactly `role` on the agent into `out` (never more than free). */
  reservedFree(agent: AgentEntry, role: string, out: Float64Array): Float64Array {
    agent.reserved.unheld(role, out);
    for (let i = 0; i < SCALAR_COUNT; i++) out[i] = Math.min(out[i] ?? 0, agent.free[i] ?? 0);
    return out;
  }

  /** Gives everything unreserved and free on the agent (all free ports) to the framework and returns it. */
  allocateAll(framework: FrameworkEntry, agent: AgentEntry): Resources {
    const free = agent.reserved.empty ? agent.free : this.unreservedFree(agent, this.delta);
    const resources: Resources = {
      cpus: free[0] ?? 0,
      mem: free[1] ?? 0,
      disk: free[2] ?? 0,
      gpus: free[3] ?? 0,
      ports: agent.freePorts,
      ...withDisks(agent.freeDisks),
    };
    this.hold(framework, agent, resources, 1);
    return resources;
  }

  /**
   * Gives `amounts` of the agent to the framework: reserved for `reservedRole` (no ports), or
   * unreserved with every free port and the named disk shares `disks` (their bytes are part of
   * `amounts`' disk). The caller has checked that they are free.
   */
  allocateAmounts(
    framework: FrameworkEntry,
    agent: AgentEntry,
    amounts: ArrayLike<number>,
    reservedRole?: string,
    disks: readonly DiskResource[] = [],
  ): Resources {
    const resources: Resources = {
      cpus: amounts[0] ?? 0,
      mem: amounts[1] ?? 0,
      disk: amounts[2] ?? 0,
      gpus: amounts[3] ?? 0,
      ports: reservedRole === undefined ? agent.freePorts : [],
      ...withDisks(disks),
    };
    this.hold(framework, agent, resources, 1, reservedRole);
    return resources;
  }

  /** Adds a dynamic reservation (scalars only; all reservations together must fit the total). */
  reserve(agentId: string, role: string, resources: Resources): void {
    const agent = this.agent(agentId);
    this.changeReservations(agent, -1);
    try {
      agent.reserved.add(role, resources, 'dynamic', agent.total);
    } finally {
      this.changeReservations(agent, 1);
    }
    this.listener.totalsChanged(this.totals);
  }

  /**
   * Shrinks a dynamic reservation. Held reserved resources beyond what stays reserved become
   * unreserved holdings of their frameworks.
   */
  unreserve(agentId: string, role: string, resources: Resources): void {
    const agent = this.agent(agentId);
    this.changeReservations(agent, -1);
    try {
      agent.reserved.remove(role, resources);
    } finally {
      this.changeReservations(agent, 1);
    }
    for (const [framework, moved] of agent.reserved.trimHeld(role)) {
      for (let i = 0; i < SCALAR_COUNT; i++)
        framework.reservedAllocated[i] = (framework.reservedAllocated[i] ?? 0) - (moved[i] ?? 0);
      this.listener.allocationChanged(framework, this.zero, 0, moved);
    }
    this.listener.totalsChanged(this.totals);
  }

  /** Takes resources back from a framework, optionally filtering the agent for it. */
  recover(frameworkId: string, agentId: string, resources: Resources, filter?: RefuseFilter): void {
    const framework = this.frameworks.get(frameworkId);
    const agent = this.agentById.get(agentId);
    if (!framework || !agent) return; // already removed: what it held was freed then
    this.release(framework, agent, resources);
    if (filter) {
      const ms = refuseMillis(filter.refuseSeconds, this.defaultRefuseSeconds);
      if (ms > 0) framework.filters.refuse(agent.index, this.now() + ms);
    }
  }

  /**
   * Records resources a framework already holds (its tasks outlived a failover). They count as
   * reserved first: whatever of them fits a reservation of the framework's role (or an
   * ancestor's) not yet held is taken to be that reservation.
   */
  holdExisting(framework: FrameworkEntry, agent: AgentEntry, resources: Resources): void {
    let rest = resources;
    for (const role of agent.reserved.roles()) {
      if (!withinRole(framework.role, role)) continue;
      const part = this.reservedFree(agent, role, new Float64Array(SCALAR_COUNT));
      const take = emptyResources();
      take.cpus = Math.min(rest.cpus, part[0] ?? 0);
      take.mem = Math.min(rest.mem, part[1] ?? 0);
      take.disk = Math.min(rest.disk, part[2] ?? 0);
      take.gpus = Math.min(rest.gpus, part[3] ?? 0);
      if (take.cpus + take.mem + take.disk + take.gpus === 0) continue;
      this.hold(framework, agent, take, 0, role);
      rest = subtractResources(rest, take);
    }
    this.hold(framework, agent, rest, 0);
  }

  /** Moves `resources` of `agent` to `framework`, reserved for `reservedRole` when given. */
  private hold(
    framework: FrameworkEntry,
    agent: AgentEntry,
    resources: Resources,
    allocations: number,
    reservedRole?: string,
  ): void {
    const delta = scalarsOf(resources, this.delta);
    const unreserved = this.unreservedDelta;
    unreserved.set(delta);
    if (reservedRole !== undefined) {
      agent.reserved.hold(framework, reservedRole, delta);
      unreserved.fill(0);
    }
    for (let i = 0; i < SCALAR_COUNT; i++) {
      agent.free[i] = Math.max(0, (agent.free[i] ?? 0) - (delta[i] ?? 0));
      framework.allocated[i] = (framework.allocated[i] ?? 0) + (delta[i] ?? 0);
      if (reservedRole !== undefined)
        framework.reservedAllocated[i] = (framework.reservedAllocated[i] ?? 0) + (delta[i] ?? 0);
    }
    if (resources.ports === agent.freePorts) agent.freePorts = [];
    else if (resources.ports.length > 0) agent.freePorts = subtractRanges(agent.freePorts, resources.ports);
    if (resources.namedDisks !== undefined) {
      agent.freeDisks = subtractDisks(agent.freeDisks, disksOf(resources));
      countMedia(framework.mediaAllocated, agent, disksOf(resources), 1);
    }
    const before = agent.allocations.get(framework);
    const after = before ? addResources(before, resources) : resources;
    agent.allocations.set(framework, after);
    framework.allocations.set(agent, after);
    this.listener.allocationChanged(framework, delta, allocations, unreserved);
  }

  /**
   * Moves at most what the framework holds on the agent back to free. The unreserved part of
   * its holding goes back first, then reserved parts: a framework's tasks on an agent are taken
   * to use its reservations first (resources carry no reservation tag on the wire).
   */
  private release(framework: FrameworkEntry, agent: AgentEntry, resources: Resources): void {
    const held = agent.allocations.get(framework);
    if (!held) return;
    const back: Resources = {
      cpus: Math.min(held.cpus, resources.cpus),
      mem: Math.min(held.mem, resources.mem),
      disk: Math.min(held.disk, resources.disk),
      gpus: Math.min(held.gpus, resources.gpus),
      ports: subtractRanges(resources.ports, subtractRanges(resources.ports, held.ports)),
      ...withDisks(subtractDisks(disksOf(held), subtractDisks(disksOf(held), disksOf(resources)))),
    };
    const left = subtractResources(held, back);
    if (
      left.cpus === 0 &&
      left.mem === 0 &&
      left.disk === 0 &&
      left.gpus === 0 &&
      left.ports.length === 0 &&
      disksOf(left).every((d) => d.size === 0)
    ) {
      agent.allocations.delete(framework);
      framework.allocations.delete(agent);
    } else {
      agent.allocations.set(framework, left);
      framework.allocations.set(agent, left);
    }
    const delta = scalarsOf(back, this.delta);
    const unreserved = this.unreservedDelta;
    unreserved.set(delta);
    if (!agent.reserved.empty) {
      // `unreserved` becomes the reserved part given back; then the unreserved part.
      agent.reserved.release(framework, held, unreserved);
      for (let i = 0; i < SCALAR_COUNT; i++) {
        framework.reservedAllocated[i] = (framework.reservedAllocated[i] ?? 0) - (unreserved[i] ?? 0);
        unreserved[i] = (delta[i] ?? 0) - (unreserved[i] ?? 0);
      }
    }
    for (let i = 0; i < SCALAR_COUNT; i++) {
      agent.free[i] = (agent.free[i] ?? 0) + (delta[i] ?? 0);
      framework.allocated[i] = (framework.allocated[i] ?? 0) - (delta[i] ?? 0);
      delta[i] = -(delta[i] ?? 0);
      unreserved[i] = -(unreserved[i] ?? 0);
    }
    agent.freePorts = addRanges(agent.freePorts, back.ports);
    if (back.namedDisks !== undefined) {
      agent.freeDisks = addDisks(agent.freeDisks, disksOf(back));
      countMedia(framework.mediaAllocated, agent, disksOf(back), -1);
    }
    if (!agent.reserved.empty && left.cpus === 0 && left.mem === 0 && left.disk === 0 && left.gpus === 0)
      agent.reserved.forget(framework);
    this.listener.allocationChanged(framework, delta, 0, unreserved);
  }

  /** Adds (or takes away) the agent's reservations to (from) the cluster-wide sums. */
  private changeReservations(agent: AgentEntry, sign: 1 | -1): void {
    if (agent.reserved.empty) return;
    this.reservingAgents += sign;
    const amounts = agent.reserved.totals();
    for (let i = 0; i < SCALAR_COUNT; i++)
      this.reservedTotals[i] = (this.reservedTotals[i] ?? 0) + sign * (amounts[i] ?? 0);
    for (const [role, reserved] of agent.reserved.byRole()) {
      const sum = this.reservedByRole.get(role) ?? new Float64Array(SCALAR_COUNT);
      for (let i = 0; i < SCALAR_COUNT; i++) sum[i] = (sum[i] ?? 0) + sign * (reserved[i] ?? 0);
      if (sum.every((v) => v <= 0)) this.reservedByRole.delete(role);
      else this.reservedByRole.set(role, sum);
    }
  }

  private changeTotals(total: Resources, sign: 1 | -1): void {
    const t = scalarsOf(total, this.delta);
    for (let i = 0; i < SCALAR_COUNT; i++) this.totals[i] = (this.totals[i] ?? 0) + sign * (t[i] ?? 0);
    this.listener.totalsChanged(this.totals);
  }
}
