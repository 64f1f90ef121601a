/**
 * Reservations at the master: static ones arrive with an agent's registration and are checked
 * here; dynamic ones are made and given back by operators (`galaxy reserve`/`unreserve`), kept
 * per agent, persisted under `/galaxy/tenancy/reservations/<agentId>` when the master has a
 * coordinator, and re-applied whenever the agent (re-)registers — after a failover too.
 */
import type { AgentInfo, ReservedResources, Resources } from '../../proto/gen/galaxy/v1/common.js';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import { checkReservationsFit, checkReservedRole } from '../../core/reservation-spec.js';
import { cloneResources, emptyResources, formatResources, validateResources } from '../../core/resources.js';
import type { MasterContext } from '../context.js';
import { BuiltinMasterPlugin, type MasterHost } from '../plugin.js';

/** The stored form: role → dynamically reserved resources (docs/tenancy.md, Store). */
export type ReservationRecord = Record<string, Resources>;

/** Checks an agent's static reservations: known roles, scalars only, together within its total. */
export function checkAgentReservations(info: AgentInfo & { total: Resources }): void {
  try {
    for (const [i, r] of info.reservations.entries()) {
      const where = `agent_info.reservations[${i}]`;
      checkReservedRole(r.role, where);
      const resources = r.resources ?? emptyResources();
      validateResources(resources, `${where}.resources`);
      if (resources.ports.length > 0)
        throw new GalaxyError('GALAXY_E_RESERVATION_INVALID', `${where}: ports cannot be reserved`);
    }
    checkReservationsFit(info.reservations, info.total, 'agent_info.reservations');
  } catch (error) {
    if (!isGalaxyError(error)) throw error;
    throw new GalaxyError('GALAXY_E_AGENT_INVALID', `${error.code}: ${error.detail}`);
  }
}

/** The master's dynamic reservations: a master plugin, re-applying them as agents register. */
export class ReservationBook extends BuiltinMasterPlugin {
  readonly name = 'reservations';
  /** Agent id → role → dynamically reserved resources. */
  private readonly dynamic = new Map<string, Map<string, Resources>>();
  /** Writes one agent's record (undefined: delete it); unset without a coordinator. */
  persist?: (agentId: string, record: ReservationRecord | undefined) => Promise<void>;
  /** Operations run one at a time, so stored records are written in order. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ctx: MasterContext) {
    super();
  }

  /** Taps the master's hooks: an agent that registers gets its reservations back. */
  apply({ hooks }: MasterHost): void {
    hooks.agentAdded.tap(this.name, (agent) => {
      this.applyStored(agent.info.id);
    });
  }

  /** Takes the stored record of an agent (failover); applied now if the agent is there, else when it registers. */
  load(agentId: string, record: ReservationRecord): void {
    const roles = new Map<string, Resources>();
    for (const [role, resources] of Object.entries(record))
      roles.set(role, cloneResources({ ...emptyResources(), ...resources }));
    this.dynamic.set(agentId, roles);
    if (this.ctx.agents.has(agentId)) this.applyStored(agentId);
  }

  /** Reserves resources of an agent for a role; resolves with the agent's reservations afterwards. */
  reserve(agentId: string, role: string, resources: Resources): Promise<ReservedResources[]> {
    return this.serially(agentId, role, resources, 1);
  }

  /** Gives back (part of) a dynamic reservation; resolves with the agent's reservations afterwards. */
  unreserve(agentId: string, role: string, resources: Resources): Promise<ReservedResources[]> {
    return this.serially(agentId, role, resources, -1);
  }

  private serially(agentId: string, role: string, resources: Resources, sign: 1 | -1): Promise<ReservedResources[]> {
    const run = this.queue.then(() => this.change(agentId, role, resources, sign));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async change(
    agentId: string,
    role: string,
    resources: Resources,
    sign: 1 | -1,
  ): Promise<ReservedResources[]> {
    const { allocator } = this.ctx;
    if (!this.ctx.agents.has(agentId))
      throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `no agent ${agentId} is registered`);
    checkReservedRole(role, 'role');
    validateResources(resources, 'resources');
    const apply = (s: 1 | -1) => {
      if (s === 1) allocator.reserve(agentId, role, resources);
      else allocator.unreserve(agentId, role, resources);
    };
    apply(sign);
    const before = new Map(this.dynamic.get(agentId) ?? []);
    const roles = new Map(before);
    const current = roles.get(role) ?? emptyResources();
    const next: Resources = {
      cpus: current.cpus + sign * resources.cpus,
      mem: current.mem + sign * resources.mem,
      disk: current.disk + sign * resources.disk,
      gpus: current.gpus + sign * resources.gpus,
      ports: [],
    };
    if (next.cpus + next.mem + next.disk + next.gpus === 0) roles.delete(role);
    else roles.set(role, next);
    try {
      await this.persist?.(agentId, roles.size === 0 ? undefined : Object.fromEntries(roles));
    } catch (error) {
      apply(sign === 1 ? -1 : 1);
      throw error;
    }
    if (roles.size === 0) this.dynamic.delete(agentId);
    else this.dynamic.set(agentId, roles);
    this.ctx.log.info(
      { agent: agentId, role, resources: formatResources(resources) },
      sign === 1 ? 'resources reserved' : 'resources unreserved',
    );
    // Outstanding offers of the agent were cut before the change: make them again.
    this.ctx.rescindAgentOffers(agentId, true);
    this.ctx.loop.trigger();
    return allocator.reservations(agentId);
  }

  /** Re-applies an agent's dynamic reservations to the allocator (which forgot them when the agent left). */
  private applyStored(agentId: string): void {
    for (const [role, resources] of this.dynamic.get(agentId) ?? []) {
      try {
        this.ctx.allocator.reserve(agentId, role, resources);
      } catch (error) {
        this.ctx.log.warn(
          { agent: agentId, role, err: String(error) },
          'a stored dynamic reservation no longer fits the agent; it is kept but not applied',
        );
      }
    }
  }
}
