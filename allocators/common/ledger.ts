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
import type { AllocatorAgent, AllocatorFramework, AllocatorOptions, RefuseFilter } from '../allocator.js';
import { DEFAULT_REFUSE_SECONDS, RefuseFilters, refuseMillis } from './filters.js';

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
  active: boolean;
  /** What each framework holds here. */
  readonly allocations: Map<FrameworkEntry, Resources>;
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
}

/** Told about every change of a framework's allocation, so an ordering policy can keep up. */
export interface LedgerListener {
  /** `delta` holds the scalar change (positive on allocation); `allocations` is +1 for a new allocation. */
  allocationChanged(framework: FrameworkEntry, delta: Float64Array, allocations: number): void;
  /** The cluster's totals changed (an agent came, went or changed). */
  totalsChanged(totals: Float64Array): void;
}

/** The allocators' shared ledger. */
export class Ledger {
  readonly agents: (AgentEntry | undefined)[] = [];
  readonly agentById = new Map<string, AgentEntry>();
  readonly frameworks = new Map<string, FrameworkEntry>();
  readonly totals = new Float64Array(SCALAR_COUNT);
  private readonly freeIndexes: number[] = [];
  private readonly delta = new Float64Array(SCALAR_COUNT);
  readonly now: () => number;
  private readonly minCpus: number;
  private readonly minMem: number;
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
      active: true,
      allocations: new Map(),
    };
    this.agents[index] = agent;
    this.agentById.set(spec.id, agent);
    this.changeTotals(agent.total, 1);
    for (const [frameworkId, resources] of used) this.hold(this.framework(frameworkId), agent, resources, 0);
  }

  /** Removes an agent, releasing what frameworks held there and forgetting filters on it. */
  removeAgent(id: string): void {
    const agent = this.agent(id);
    for (const [framework, resources] of [...agent.allocations]) this.release(framework, agent, resources);
    for (const framework of this.frameworks.values()) framework.filters.forget(agent.index);
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

  /** Gives everything free on the agent to the framework and returns it. */
  allocateAll(framework: FrameworkEntry, agent: AgentEntry): Resources {
    const free = agent.free;
    const resources: Resources = {
      cpus: free[0] ?? 0,
      mem: free[1] ?? 0,
      disk: free[2] ?? 0,
      gpus: free[3] ?? 0,
      ports: agent.freePorts,
    };
    this.hold(framework, agent, resources, 1);
    return resources;
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

  /** Records resources a framework already holds (its tasks outlived a failover). */
  holdExisting(framework: FrameworkEntry, agent: AgentEntry, resources: Resources): void {
    this.hold(framework, agent, resources, 0);
  }

  /** Moves `resources` of `agent` to `framework`. */
  private hold(framework: FrameworkEntry, agent: AgentEntry, resources: Resources, allocations: number): void {
    const delta = scalarsOf(resources, this.delta);
    for (let i = 0; i < SCALAR_COUNT; i++) {
      agent.free[i] = Math.max(0, (agent.free[i] ?? 0) - (delta[i] ?? 0));
      framework.allocated[i] = (framework.allocated[i] ?? 0) + (delta[i] ?? 0);
    }
    if (resources.ports === agent.freePorts) agent.freePorts = [];
    else if (resources.ports.length > 0) agent.freePorts = subtractRanges(agent.freePorts, resources.ports);
    const before = agent.allocations.get(framework);
    const after = before ? addResources(before, resources) : resources;
    agent.allocations.set(framework, after);
    framework.allocations.set(agent, after);
    this.listener.allocationChanged(framework, delta, allocations);
  }

  /** Moves at most what the framework holds on the agent back to free. */
  private release(framework: FrameworkEntry, agent: AgentEntry, resources: Resources): void {
    const held = agent.allocations.get(framework);
    if (!held) return;
    const back: Resources = {
      cpus: Math.min(held.cpus, resources.cpus),
      mem: Math.min(held.mem, resources.mem),
      disk: Math.min(held.disk, resources.disk),
      gpus: Math.min(held.gpus, resources.gpus),
      ports: subtractRanges(resources.ports, subtractRanges(resources.ports, held.ports)),
    };
    const left = subtractResources(held, back);
    if (left.cpus === 0 && left.mem === 0 && left.disk === 0 && left.gpus === 0 && left.ports.length === 0) {
      agent.allocations.delete(framework);
      framework.allocations.delete(agent);
    } else {
      agent.allocations.set(framework, left);
      framework.allocations.set(agent, left);
    }
    const delta = scalarsOf(back, this.delta);
    for (let i = 0; i < SCALAR_COUNT; i++) {
      agent.free[i] = (agent.free[i] ?? 0) + (delta[i] ?? 0);
      framework.allocated[i] = (framework.allocated[i] ?? 0) - (delta[i] ?? 0);
      delta[i] = -(delta[i] ?? 0);
    }
    agent.freePorts = addRanges(agent.freePorts, back.ports);
    this.listener.allocationChanged(framework, delta, 0);
  }

  private changeTotals(total: Resources, sign: 1 | -1): void {
    const t = scalarsOf(total, this.delta);
    for (let i = 0; i < SCALAR_COUNT; i++) this.totals[i] = (this.totals[i] ?? 0) + sign * (t[i] ?? 0);
    this.listener.totalsChanged(this.totals);
  }
}
