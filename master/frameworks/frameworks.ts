/**
 * The master's side of frameworks: subscription and re-subscription, their owners and roles
 * (UPDATE_FRAMEWORK), failover and removal. The scheduler calls are in `scheduler-calls.ts`.
 *
 * A framework belongs to the user that first subscribed it (docs/security.md): its owner is
 * stored in the registry before SUBSCRIBED is sent, and every later SUBSCRIBE naming its id — also
 * after a master failover, or when a re-registering agent named it first — must come from that
 * user or an admin. Its roles must be held by its owner; each role is one allocator client
 * (`role-clients.ts`).
 */
import type { Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { effectiveRoles, mayActAs, requireActAs } from '../../core/tenancy/roles.js';
import { isTerminal } from '../../core/task-state.js';
import { checkId, checkRole } from '../../core/validate.js';
import type { FrameworkInfo } from '../../proto/gen/galaxy/v1/common.js';
import { acceptsRevocable, FrameworkCapability } from '../../core/revocable.js';
import type { CallResponse, SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { MasterAuthorization } from '../tenancy/authorization.js';
import type { MasterContext } from '../context.js';
import { FrameworkRegistry, type StoredFramework } from '../registry/framework-registry.js';
import type { Preemptor } from '../preemption/preemptor.js';
import type { FrameworkConnection, FrameworkRecord } from '../records.js';
import { MAX_ROLES } from './role-clients.js';
import { SchedulerCalls } from './scheduler-calls.js';
import { checkFrameworkCount } from '../limits.js';

/** Handles everything that comes from frameworks. */
export class FrameworksController {
  /** Who owns each framework and which roles it holds; the candidate replaces it with the stored one. */
  registry = new FrameworkRegistry();
  private readonly calls: SchedulerCalls;
  /** New frameworks per owner whose registry record is being written (they count toward the cap). */
  private readonly subscribing = new Map<string, number>();

  constructor(
    private readonly ctx: MasterContext,
    /** Role holding, launch and kill checks (pool authorities only with grants stored). */
    readonly authorization: MasterAuthorization = new MasterAuthorization({ poolOf: () => undefined }),
    preemptor?: Preemptor,
  ) {
    this.calls = new SchedulerCalls(
      ctx,
      authorization,
      {
        update: (framework, info) => this.update(framework, info),
        remove: (framework, reason) => {
          this.remove(framework, reason);
        },
      },
      preemptor,
    );
  }

  /**
   * SUBSCRIBE by `caller`: admits a new framework (stored with `caller` as its owner before it is
   * answered), or takes back one that names its id — only its owner or an admin may. Throws a
   * coded error, changing nothing, when refused.
   */
  async subscribe(
    requested: FrameworkInfo,
    connection: FrameworkConnection,
    caller: Principal,
  ): Promise<FrameworkRecord> {
    const info = checkInfo(requested);
    if (caller.kind !== 'user')
      throw new GalaxyError('GALAXY_E_PERMISSION_DENIED', `a ${caller.kind} token cannot subscribe a framework`);
    this.authorization.remember(caller);
    const claimed = info.id === '' ? undefined : this.claim(info.id, caller);
    const id = info.id === '' ? this.ctx.frameworkIds.next() : info.id;
    const owner = claimed?.owner || caller.user;
    const roles = effectiveRoles(info, this.authorization.holder(owner));
    checkRoleCount(roles);
    this.authorization.requireRoles(owner, roles, id);
    const isNew = !this.ctx.frameworks.has(id);
    if (isNew) {
      // A new framework: its owner may hold only so many, those still being stored included
      // (checked before anything is stored).
      let registered = this.subscribing.get(owner) ?? 0;
      for (const known of this.ctx.frameworks.values()) if (known.owner === owner) registered += 1;
      checkFrameworkCount(`user ${owner}`, registered, this.ctx.limits.frameworksPerPrincipal);
      this.subscribing.set(owner, (this.subscribing.get(owner) ?? 0) + 1);
    }
    try {
      const stored = this.registry.get(id);
      if (!stored || stored.owner !== owner || !sameRoles(stored.roles, roles) || stored.name !== info.name)
        await this.store(id, { owner, roles, name: info.name, createdAt: stored?.createdAt ?? Date.now() });
    } finally {
      if (isNew) {
        const left = (this.subscribing.get(owner) ?? 1) - 1;
        if (left > 0) this.subscribing.set(owner, left);
        else this.subscribing.delete(owner);
      }
    }
    // The registry write yielded: the framework may have been torn down meanwhile.
    if (this.ctx.removedFrameworks.has(id)) {
      void this.registry.remove(id).catch(() => undefined);
      this.claim(id, caller);
    }
    let framework = this.ctx.frameworks.get(id);
    const resubscribed = framework !== undefined;
    if (framework) {
      const old = framework.connection;
      framework.connection = undefined;
      old?.close();
      clearTimeout(framework.failoverTimer);
      clearInterval(framework.heartbeatTimer);
      framework.owner = owner;
      this.applyInfo(framework, info, roles);
      this.ctx.clients.activate(id);
    } else {
      framework = {
        info: { ...info, id, role: roles[0] ?? '*', roles },
        owner,
        active: true,
        suppressed: false,
        tasks: new Set(),
      };
      this.ctx.frameworks.set(id, framework);
      this.ctx.clients.add(id, info.name, roles, true);
    }
    framework.connection = connection;
    framework.active = true;
    connection.send({
      event: {
        $case: 'subscribed',
        subscribed: {
          frameworkId: id,
          heartbeatIntervalS: this.ctx.timings.frameworkHeartbeatMs / 1000,
          masterId: this.ctx.masterId,
        },
      },
    });
    framework.heartbeatTimer = setInterval(() => {
      this.ctx.sendEvent(id, { event: { $case: 'heartbeat', heartbeat: {} } });
    }, this.ctx.timings.frameworkHeartbeatMs);
    framework.heartbeatTimer.unref();
    this.ctx.masterUpdates.flush();
    this.ctx.hooks.frameworkSubscribed.call(framework, resubscribed);
    this.ctx.loop.trigger();
    return framework;
  }

  /** Any call but SUBSCRIBE, by `caller` (the framework's owner or an admin); see {@link SchedulerCalls}. */
  call(call: SchedulerCall, caller: Principal): Promise<CallResponse | undefined> {
    return this.calls.call(call, caller);
  }

  /**
   * A framework named by an agent that re-registers (after a master failover) before the
   * framework re-subscribed: known, inactive, and on its failover clock. Its owner and roles come
   * from the registry (never from the agent); `taskRoles` are the roles its reported tasks run in.
   */
  adoptFromAgent(info: FrameworkInfo, taskRoles: readonly string[]): void {
    if (this.ctx.removedFrameworks.has(info.id)) return;
    if (!this.ctx.frameworks.has(info.id)) {
      const stored = this.registry.get(info.id);
      const reported = info.roles.length > 0 ? info.roles : [info.role === '' ? '*' : info.role];
      const roles = stored && stored.roles.length > 0 ? [...stored.roles] : reported;
      const framework: FrameworkRecord = {
        info: { ...info, role: roles[0] ?? '*', roles },
        owner: stored?.owner ?? '',
        active: false,
        suppressed: false,
        tasks: new Set(),
      };
      this.ctx.frameworks.set(info.id, framework);
      this.ctx.clients.add(info.id, info.name, roles, false);
      this.startFailoverClock(framework);
    }
    for (const role of taskRoles) this.ctx.clients.ensureRole(info.id, role);
  }

  /** The framework's event stream ended: its tasks live on during its failover timeout. */
  disconnected(framework: FrameworkRecord, connection: FrameworkConnection): void {
    if (framework.connection !== connection) return;
    framework.connection = undefined;
    framework.active = false;
    clearInterval(framework.heartbeatTimer);
    this.ctx.clients.deactivate(framework.info.id);
    this.ctx.rescindOffers((offer) => offer.frameworkId === framework.info.id, false);
    this.startFailoverClock(framework);
    this.ctx.hooks.frameworkDisconnected.call(framework);
  }

  /** Removes a framework: kills its tasks, frees what it held and forgets its owner. */
  remove(framework: FrameworkRecord, reason: string): void {
    const id = framework.info.id;
    if (this.ctx.frameworks.get(id) !== framework) return;
    clearTimeout(framework.failoverTimer);
    clearInterval(framework.heartbeatTimer);
    this.ctx.rescindOffers((offer) => offer.frameworkId === id, false);
    for (const key of [...framework.tasks]) {
      const record = this.ctx.tasks.get(key);
      if (record && !isTerminal(record.task.state)) this.ctx.killTask(record);
      this.ctx.finishTask(key);
    }
    for (const agent of this.ctx.agents.values()) {
      agent.connection?.send({ message: { $case: 'shutdownFramework', shutdownFramework: { frameworkId: id } } });
    }
    this.ctx.masterUpdates.dropFramework(id);
    this.ctx.clients.remove(id);
    this.ctx.frameworks.delete(id);
    this.ctx.removedFrameworks.add(id);
    void this.registry.remove(id).catch((error: unknown) => {
      this.ctx.log.error({ framework: id, err: String(error) }, 'the removed framework stays in the registry');
    });
    const connection = framework.connection;
    framework.connection = undefined;
    connection?.close();
    this.ctx.hooks.frameworkRemoved.call(framework, reason);
    this.ctx.loop.trigger();
  }

  /**
   * UPDATE_FRAMEWORK: new roles (each held by the owner), name and failover timeout. Dropped roles
   * lose their offers; while tasks still run in one it stays allocated to them (without offers).
   */
  private async update(framework: FrameworkRecord, requested: FrameworkInfo): Promise<void> {
    const id = framework.info.id;
    if (requested.id !== '' && requested.id !== id)
      throw new GalaxyError(
        'GALAXY_E_FRAMEWORK_INVALID',
        `update_framework.framework_info.id ${requested.id.slice(0, 100)} is not this framework (${id})`,
      );
    const info = checkInfo({ ...requested, id });
    const roles = effectiveRoles(info, this.authorization.holder(framework.owner));
    checkRoleCount(roles);
    this.authorization.requireRoles(framework.owner, roles, id);
    const stored = this.registry.get(id);
    if (!stored || !sameRoles(stored.roles, roles) || stored.name !== info.name)
      await this.store(id, {
        owner: framework.owner,
        roles,
        name: info.name,
        createdAt: stored?.createdAt ?? Date.now(),
      });
    if (this.ctx.frameworks.get(id) !== framework) return; // removed meanwhile
    this.applyInfo(framework, info, roles);
    this.ctx.loop.trigger();
  }

  /**
   * Throws, changing nothing, unless `caller` may take framework `id` over: the framework must
   * not be torn down; a known one (in memory or stored) must be the caller's or the caller an
   * admin; an id nobody knows only an admin may claim (a framework first seen by a master that
   * kept no registry). Returns what is known of it.
   */
  private claim(id: string, caller: Principal): { owner: string } | undefined {
    if (this.ctx.removedFrameworks.has(id))
      throw new GalaxyError('GALAXY_E_FRAMEWORK_UNKNOWN', `framework ${id} was torn down; subscribe without an id`);
    const known = this.ctx.frameworks.get(id) ?? this.registry.get(id);
    if (!known) {
      if (mayActAs(caller, '')) return undefined;
      throw new GalaxyError(
        'GALAXY_E_FRAMEWORK_UNKNOWN',
        `framework ${id.slice(0, 100)} is not known to this master; subscribe without an id to register a new one`,
      );
    }
    requireActAs(caller, known.owner, id);
    return { owner: known.owner };
  }

  /** Applies checked info and roles to a known framework: renames, re-roles, rescinds dropped roles' offers. */
  private applyInfo(framework: FrameworkRecord, info: FrameworkInfo, roles: string[]): void {
    const id = framework.info.id;
    Object.assign(framework.info, {
      name: info.name,
      failoverTimeoutS: info.failoverTimeoutS,
      user: info.user,
      hostname: info.hostname,
      role: roles[0] ?? '*',
      roles,
      capabilities: info.capabilities,
    });
    if (!acceptsRevocable(framework.info))
      this.ctx.rescindOffers((o) => o.frameworkId === id && o.revocable === true, true);
    const dropped = this.ctx.clients.setRoles(id, roles, (role) => this.ctx.liveInRole(id, role));
    framework.suppressed = this.ctx.clients.suppressed(id);
    if (dropped.length > 0)
      this.ctx.rescindOffers((o) => o.frameworkId === id && dropped.includes(o.allocationRole ?? ''), true);
  }

  private async store(id: string, record: StoredFramework): Promise<void> {
    try {
      await this.registry.put(id, record);
    } catch (error) {
      throw new GalaxyError(
        'GALAXY_E_COORD_UNAVAILABLE',
        `framework ${id} could not be stored in the registry (${error instanceof Error ? error.message : String(error)}); try again`,
      );
    }
  }

  private startFailoverClock(framework: FrameworkRecord): void {
    const timeoutMs =
      framework.info.failoverTimeoutS > 0
        ? framework.info.failoverTimeoutS * 1000
        : this.ctx.timings.defaultFailoverTimeoutMs;
    clearTimeout(framework.failoverTimer);
    // A timer fires at once past 2^31-1 ms (24.8 days), and a failover timeout may be a year:
    // the clock is re-armed until its deadline.
    const deadline = Date.now() + timeoutMs;
    const arm = (): void => {
      framework.failoverTimer = setTimeout(
        () => {
          if (Date.now() < deadline) arm();
          else this.remove(framework, 'failover-timeout');
        },
        Math.min(deadline - Date.now(), MAX_TIMER_MS),
      );
      framework.failoverTimer.unref();
    };
    arm();
  }
}

/** The longest delay a Node timer takes (2^31-1 ms); longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function checkInfo(info: FrameworkInfo): FrameworkInfo {
  if (info.name.trim() === '') throw new GalaxyError('GALAXY_E_FRAMEWORK_INVALID', 'framework_info.name is empty');
  if (info.id !== '') checkId(info.id, 'framework_info.id', 'GALAXY_E_FRAMEWORK_INVALID');
  if (info.role !== '') checkRole(info.role, 'GALAXY_E_FRAMEWORK_INVALID');
  for (const role of info.roles) checkRole(role, 'GALAXY_E_FRAMEWORK_INVALID');
  checkCapabilities(info.capabilities?.values ?? []);
  if (!(info.failoverTimeoutS >= 0 && info.failoverTimeoutS <= 365 * 86400)) {
    throw new GalaxyError(
      'GALAXY_E_FRAMEWORK_INVALID',
      'framework_info.failover_timeout_s must be between 0 and one year',
    );
  }
  return info;
}

/** Known capabilities only, each once (a framework's info is input like any other). */
function checkCapabilities(values: readonly FrameworkCapability[]): void {
  const known = new Set([FrameworkCapability.REVOCABLE_RESOURCES]);
  if (values.length > known.size || values.some((v) => !known.has(v)) || new Set(values).size !== values.length)
    throw new GalaxyError(
      'GALAXY_E_FRAMEWORK_INVALID',
      `framework_info.capabilities must name known capabilities (REVOCABLE_RESOURCES) once each, got ${values.slice(0, 8).join(', ')}`,
    );
}

function checkRoleCount(roles: readonly string[]): void {
  if (roles.length > MAX_ROLES)
    throw new GalaxyError(
      'GALAXY_E_FRAMEWORK_INVALID',
      `a framework holds at most ${MAX_ROLES} roles, not ${roles.length}`,
    );
}

function sameRoles(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((role, i) => role === b[i]);
}
