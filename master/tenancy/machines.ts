/**
 * The machine registry of the master: pools, operator labels and machine modes (docs/tenancy.md,
 * "Machines"). It decides each agent's pool (an assignment overrides the agent's `--pool`), adds
 * its labels to the attributes that offers carry, and keeps offline and draining agents out of
 * allocation. Draining agents are announced to every framework (`AgentDraining`), also to
 * frameworks that subscribe while the drain lasts. State changes are written through a
 * {@link MachineSink} (the coordinator, when the master has one) and re-applied after a failover
 * with {@link Machines.load}.
 */
import { GalaxyError } from '../../core/errors.js';
import { emptyResources, isEmptyResources, subtractResources } from '../../core/resources.js';
import { agentModeKey, labelsKey, poolKey } from '../../core/tenancy/keys.js';
import { checkId } from '../../core/validate.js';
import type { AgentInfo, Label, Resources } from '../../proto/gen/galaxy/v1/common.js';
import type { PoolEntry } from '../../proto/gen/galaxy/v1/operator.js';
import type { MasterContext } from '../context.js';
import type { AgentRecord } from '../records.js';
import { BuiltinMasterPlugin, type MasterHost } from '../plugin.js';

/** How an agent takes part in allocation. */
export type MachineMode = 'online' | 'offline' | 'draining';

/** The modes, for validation and help texts. */
export const MACHINE_MODES: readonly MachineMode[] = ['online', 'offline', 'draining'];

/** The pool every agent is in unless told otherwise; it is always registered. */
export const DEFAULT_POOL = 'default';

/** `pools/<name>`. */
export interface PoolRecord {
  readonly name: string;
  readonly description: string;
  /** Milliseconds since the epoch. */
  readonly createdAt: number;
}

/** `agents/<agentId>`. */
export interface AgentSetting {
  pool?: string;
  mode: MachineMode;
}

/** Everything the registry persists, as loaded after a failover. */
export interface MachineState {
  readonly pools: readonly PoolRecord[];
  readonly agents: ReadonlyMap<string, AgentSetting>;
  readonly labels: ReadonlyMap<string, readonly string[]>;
}

/** Writes a registry key (`undefined` deletes it). */
export type MachineSink = (key: string, value: unknown) => void;

const POOL_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9_./-]{0,62}$/;
const LABEL_VALUE = /^[A-Za-z0-9_.:/@-]{0,63}$/;

/** Splits `key` or `key=value` into a label; a bare key has the value `true`. Throws when malformed. */
export function parseLabel(text: string): Label {
  const at = text.indexOf('=');
  const key = at < 0 ? text : text.slice(0, at);
  const value = at < 0 ? 'true' : text.slice(at + 1);
  if (!LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) {
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `label "${text.slice(0, 80)}" is not key or key=value (key: letters, digits, _ . / -; value: at most 63 of letters, digits, _ . : / @ -)`,
    );
  }
  return { key, value };
}

/** Throws unless `name` is a valid pool name. */
export function checkPoolName(name: string): void {
  if (!POOL_NAME.test(name))
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `pool "${name.slice(0, 60)}" is not a valid name (a lowercase letter, then lowercase letters, digits, _ or -; at most 32)`,
    );
}

/** Throws unless `mode` is a machine mode. */
export function checkMode(mode: string): MachineMode {
  const found = MACHINE_MODES.find((m) => m === mode);
  if (!found)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `mode "${mode.slice(0, 40)}" is not one of ${MACHINE_MODES.join(', ')}`,
    );
  return found;
}

/** The attributes an agent offers: its own, with operator labels added (a label wins over an attribute of its key). */
export function mergeLabels(own: readonly Label[], labels: readonly string[]): Label[] {
  const parsed = labels.map(parseLabel);
  const keys = new Set(parsed.map((l) => l.key));
  return [...own.filter((a) => !keys.has(a.key)), ...parsed];
}

/**
 * Pools, labels and modes of the master's agents. A master plugin: it sets admitted agents' pools
 * and labels, keeps agents that are not online out of allocation, and tells frameworks that
 * subscribe which agents drain.
 */
export class Machines extends BuiltinMasterPlugin {
  readonly name = 'machines';
  private readonly pools = new Map<string, PoolRecord>();
  private readonly settings = new Map<string, AgentSetting>();
  private readonly labels = new Map<string, string[]>();
  /** The attributes each agent registered with, before labels were added. */
  private readonly ownAttributes = new Map<string, Label[]>();
  private sink: MachineSink = () => undefined;

  /**
   * @param usedOn what each framework's tasks hold on an agent (to re-add it to the allocator)
   */
  constructor(
    private readonly ctx: MasterContext,
    private readonly usedOn: (agent: AgentRecord) => Map<string, Resources>,
  ) {
    super();
  }

  /** Taps the master's hooks. */
  apply({ hooks, ctx }: MasterHost): void {
    hooks.agentAdmitting.tap(this.name, (info) => {
      this.admitting(info);
    });
    hooks.agentAdded.tap(this.name, (agent) => {
      if (this.modeOf(agent.info.id) !== 'online') ctx.allocator.deactivateAgent(agent.info.id);
    });
    hooks.frameworkSubscribed.tap(this.name, (framework) => {
      for (const [agentId, setting] of this.settings)
        if (setting.mode === 'draining')
          ctx.sendEvent(framework.info.id, {
            event: { $case: 'agentDraining', agentDraining: { agentId, draining: true } },
          });
    });
  }

  /** Replaces the registry with stored state (a new leader, before agents re-register). */
  load(state: MachineState): void {
    this.pools.clear();
    for (const pool of state.pools) this.pools.set(pool.name, pool);
    this.settings.clear();
    for (const [id, setting] of state.agents) this.settings.set(id, { ...setting });
    this.labels.clear();
    for (const [id, labels] of state.labels) this.labels.set(id, [...labels]);
  }

  /** Sends every later change to `sink` (persistence). */
  attachSink(sink: MachineSink): void {
    this.sink = sink;
  }

  /** The mode of an agent (online unless set). */
  modeOf(agentId: string): MachineMode {
    return this.settings.get(agentId)?.mode ?? 'online';
  }

  /** The operator labels of an agent. */
  labelsOf(agentId: string): string[] {
    return [...(this.labels.get(agentId) ?? [])];
  }

  /** Every agent that has labels, or the one asked for. */
  listLabels(agentId: string): { agentId: string; labels: string[] }[] {
    if (agentId !== '') return [{ agentId, labels: this.labelsOf(agentId) }];
    return [...this.labels.entries()].map(([id, labels]) => ({ agentId: id, labels: [...labels] }));
  }

  // ── pools ────────────────────────────────────────────────────────────────────────────────

  /** Adds a pool to the registry. */
  addPool(name: string, description: string): PoolEntry {
    checkPoolName(name);
    if (this.pools.has(name) || name === DEFAULT_POOL)
      throw new GalaxyError('GALAXY_E_POOL_DUPLICATE', `pool ${name} is already in the registry`);
    const pool: PoolRecord = { name, description: description.slice(0, 200), createdAt: Date.now() };
    this.pools.set(name, pool);
    this.sink(poolKey(name), pool);
    return this.entry(name);
  }

  /** Removes a pool; refused while admitted agents are in it. */
  removePool(name: string): void {
    if (name === DEFAULT_POOL)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `pool ${DEFAULT_POOL} is built in and cannot be removed`);
    if (!this.pools.has(name)) throw new GalaxyError('GALAXY_E_POOL_UNKNOWN', `no pool named ${name.slice(0, 60)}`);
    const members = this.members(name);
    if (members.length > 0)
      throw new GalaxyError(
        'GALAXY_E_POOL_IN_USE',
        `pool ${name} still has agent${members.length === 1 ? '' : 's'} ${members.join(', ')}; assign them to another pool first`,
      );
    this.pools.delete(name);
    this.sink(poolKey(name), undefined);
  }

  /** Registered pools and the pools agents are in, sorted by name. */
  listPools(): PoolEntry[] {
    const names = new Set([DEFAULT_POOL, ...this.pools.keys()]);
    for (const agent of this.ctx.agents.values()) names.add(agent.info.pool);
    return [...names].sort().map((name) => this.entry(name));
  }

  /** Moves an agent to a registered pool; offers of it are taken back and made again from the new pool. */
  assignPool(agentId: string, pool: string): void {
    this.checkAgent(agentId);
    checkPoolName(pool);
    if (pool !== DEFAULT_POOL && !this.pools.has(pool))
      throw new GalaxyError('GALAXY_E_POOL_UNKNOWN', `no pool named ${pool}; galaxy pool add ${pool} first`);
    const setting = this.setting(agentId);
    setting.pool = pool;
    this.sink(agentModeKey(agentId), setting);
    const agent = this.ctx.agents.get(agentId);
    if (!agent) return;
    agent.info.pool = pool;
    this.readmit(agent);
  }

  // ── labels ───────────────────────────────────────────────────────────────────────────────

  /** Adds (or replaces the value of) a label of an agent; returns the agent's labels. */
  addLabel(agentId: string, text: string): string[] {
    this.checkAgent(agentId);
    const label = parseLabel(text);
    const kept = this.labelsOf(agentId).filter((l) => parseLabel(l).key !== label.key);
    return this.setLabels(agentId, [...kept, text.includes('=') ? `${label.key}=${label.value}` : label.key]);
  }

  /** Removes the label of that key (`key` or `key=value` name it); returns the agent's labels. */
  removeLabel(agentId: string, text: string): string[] {
    const { key } = parseLabel(text);
    const labels = this.labelsOf(agentId);
    const kept = labels.filter((l) => parseLabel(l).key !== key);
    if (kept.length === labels.length)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `agent ${agentId} has no label ${key}`);
    return this.setLabels(agentId, kept);
  }

  // ── modes ────────────────────────────────────────────────────────────────────────────────

  /**
   * Sets an agent's mode. Offline and draining agents are not offered (their running tasks stay);
   * entering or leaving a drain is announced to every framework. `actor` (who asked) goes to the
   * event log.
   */
  setMode(agentId: string, mode: MachineMode, actor = ''): void {
    this.checkAgent(agentId);
    const setting = this.setting(agentId);
    const before = setting.mode;
    setting.mode = mode;
    this.sink(agentModeKey(agentId), setting);
    const agent = this.ctx.agents.get(agentId);
    if (agent) {
      if (mode === 'online') {
        if (agent.active) this.ctx.allocator.activateAgent(agentId);
      } else {
        this.ctx.allocator.deactivateAgent(agentId);
        this.ctx.rescindAgentOffers(agentId, true);
      }
    }
    if ((before === 'draining') !== (mode === 'draining')) {
      for (const framework of this.ctx.frameworks.values())
        this.ctx.sendEvent(framework.info.id, {
          event: { $case: 'agentDraining', agentDraining: { agentId, draining: mode === 'draining' } },
        });
    }
    this.ctx.log.info({ agent: agentId, mode, was: before }, 'agent mode set');
    this.ctx.hooks.agentModeChanged.call(agentId, mode, before, actor);
    this.ctx.loop.trigger();
  }

  // ── internals ────────────────────────────────────────────────────────────────────────────

  /** An agent is being admitted: its assigned pool and labels apply. */
  private admitting(info: AgentInfo): void {
    this.ownAttributes.set(info.id, [...info.attributes]);
    const pool = this.settings.get(info.id)?.pool;
    if (pool !== undefined) info.pool = pool;
    info.attributes = mergeLabels(info.attributes, this.labelsOf(info.id));
  }

  private setLabels(agentId: string, labels: string[]): string[] {
    if (labels.length === 0) {
      this.labels.delete(agentId);
      this.sink(labelsKey(agentId), undefined);
    } else {
      this.labels.set(agentId, labels);
      this.sink(labelsKey(agentId), { labels });
    }
    const agent = this.ctx.agents.get(agentId);
    if (agent) {
      agent.info.attributes = mergeLabels(this.ownAttributes.get(agentId) ?? [], labels);
      this.readmit(agent);
    }
    return [...labels];
  }

  /**
   * Makes the allocator and offers see an agent's new pool or attributes: outstanding offers are
   * rescinded and the agent is added again with what its tasks hold (and its reservations).
   */
  private readmit(agent: AgentRecord): void {
    const id = agent.info.id;
    const { allocator } = this.ctx;
    this.ctx.rescindAgentOffers(id, true);
    const reserved = allocator.reservations(id);
    const statics = agent.info.reservations.map((r) => ({ role: r.role, resources: r.resources ?? emptyResources() }));
    allocator.removeAgent(id);
    allocator.addAgent(
      {
        id,
        hostname: agent.info.hostname,
        total: agent.info.total,
        attributes: agent.info.attributes,
        pool: agent.info.pool,
        reservations: statics,
      },
      this.usedOn(agent),
    );
    // Dynamic reservations (what was reserved beyond the static ones) stay dynamic.
    for (const { role, resources } of reserved) {
      const dynamic = subtractResources(resources, statics.find((s) => s.role === role)?.resources ?? emptyResources());
      if (!isEmptyResources({ ...dynamic, ports: [] })) allocator.reserve(id, role, { ...dynamic, ports: [] });
    }
    if (!agent.active || this.modeOf(id) !== 'online') allocator.deactivateAgent(id);
    this.ctx.loop.trigger();
  }

  private setting(agentId: string): AgentSetting {
    let setting = this.settings.get(agentId);
    if (!setting) {
      setting = { mode: 'online' };
      this.settings.set(agentId, setting);
    }
    return setting;
  }

  /** Admitted agents, or agents the registry already knows (after a failover, before they are back). */
  private checkAgent(agentId: string): void {
    checkId(agentId, 'agent id');
    if (!this.ctx.agents.has(agentId) && !this.settings.has(agentId) && !this.labels.has(agentId))
      throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `no agent ${agentId.slice(0, 100)}; galaxy agents lists them`);
  }

  /** Admitted agents in a pool. (An agent assigned to a removed pool that comes back is admitted into it, and listed.) */
  private members(pool: string): string[] {
    return [...this.ctx.agents.values()]
      .filter((a) => a.info.pool === pool)
      .map((a) => a.info.id)
      .sort();
  }

  private entry(name: string): PoolEntry {
    const pool = this.pools.get(name);
    const agents = this.members(name);
    return {
      name,
      description: pool?.description ?? (name === DEFAULT_POOL ? 'built in' : ''),
      createdAt: (pool?.createdAt ?? 0) / 1000,
      registered: pool !== undefined || name === DEFAULT_POOL,
      agents,
    };
  }
}
