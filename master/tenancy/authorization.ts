/**
 * Authorization of what frameworks do on the master (docs/security.md, "Roles" and "Bands and
 * preemption"; docs/tenancy.md, Authorities). A framework acts for its **owner**, the user that
 * first subscribed it: it holds only roles the owner holds, and each task it launches binds its
 * role's **acting user** (`core/tenancy/roles.ts`), who needs `container:create` in the agent's
 * pool and the authority of the task's band there; KILL needs `container:remove`; PREEMPT needs
 * the band in the pool asked for. `ListTasks` shows a non-admin only their own tasks in pools
 * where they hold `container:list`.
 *
 * Role holding is checked on every master (a non-admin without grants holds only its own role);
 * authorities of pools are checked when callers are authenticated and grants are stored. These
 * checks run inside synchronous scheduler calls, so the grants are mirrored in memory: loaded
 * once, then followed through a coordinator watch.
 */
import type { Principal } from '../../core/auth/principal.js';
import type { Coordinator, Unwatch } from '../../core/coordinator/coordinator.js';
import { GalaxyError } from '../../core/errors.js';
import { bandAuthority, grantsAllow, type Authority, type GrantsRecord } from '../../core/tenancy/grants.js';
import { GRANTS_DIR, grantsKey } from '../../core/tenancy/keys.js';
import { actingUser, missingRoles, type RoleHolder } from '../../core/tenancy/roles.js';
import type { Band, Task, TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { sandboxDenial, sandboxNeeds } from '../../core/tenancy/sandbox.js';
import { BuiltinMasterPlugin, type MasterHost } from '../plugin.js';

function parse(value: string | undefined): GrantsRecord | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as GrantsRecord;
  } catch {
    return undefined;
  }
}

/** How the master's authorization finds what it checks. */
export interface AuthorizationSources {
  /** Where grants live; none: no pool authorities are checked, and nobody holds granted roles. */
  readonly coordinator?: Coordinator;
  /** The pool of an agent, if it is known. */
  readonly poolOf: (agentId: string) => string | undefined;
  /** A known user's principal (the master's user store), for owners' and acting users' admin flag. */
  readonly userOf?: (name: string) => Principal | undefined;
}

/**
 * The master's view of grants and its checks. A master plugin: it loads the grants before the
 * master serves, and refuses launches on the `validateLaunch` hook; the scheduler and operator
 * calls ask it directly for the rest (subscriptions, kills, preemptions, listings).
 */
export class MasterAuthorization extends BuiltinMasterPlugin {
  readonly name = 'authorization';
  private readonly grants = new Map<string, GrantsRecord>();
  /** Principals seen on calls, for the admin flag of users the user store does not know (tests' authenticators). */
  private readonly seen = new Map<string, Principal>();
  private unwatch: Unwatch | undefined;

  constructor(private readonly sources: AuthorizationSources) {
    super();
  }

  /**
   * Taps the master's hooks: grants are loaded before the master serves and followed until it
   * stops; every task of an ACCEPT is checked on `validateLaunch` ({@link checkLaunch} and
   * {@link checkSandbox}), refusing with GALAXY_E_PERMISSION_DENIED.
   */
  apply({ hooks }: MasterHost): void {
    hooks.starting.tapPromise(this.name, () => this.load());
    hooks.stopping.tap(this.name, () => {
      this.close();
    });
    hooks.validateLaunch.tap(this.name, (task, framework, { owner, role, agentId }) => {
      this.checkLaunch(owner, role, agentId, [task.band], framework.id);
      this.checkSandbox(owner, role, agentId, task, framework.id);
      return undefined;
    });
  }

  /** True when pool authorities are checked (grants are stored). */
  get enforcesAuthorities(): boolean {
    return this.sources.coordinator !== undefined;
  }

  /** Loads every user's grants and follows later changes. */
  async load(): Promise<void> {
    const coordinator = this.sources.coordinator;
    if (!coordinator) return;
    this.unwatch = coordinator.watch(GRANTS_DIR, (change) => {
      const user = change.key.slice(GRANTS_DIR.length + 1);
      if (user === '' || user.includes('/')) return;
      const grants = parse(change.value);
      if (grants) this.grants.set(user, grants);
      else this.grants.delete(user);
    });
    for (const user of await coordinator.list(GRANTS_DIR)) {
      const grants = parse((await coordinator.get(grantsKey(user)))?.value);
      if (grants) this.grants.set(user, grants);
    }
  }

  /** Stops following changes. */
  close(): void {
    this.unwatch?.();
  }

  /** Remembers a caller's admin flag (a user store, when there is one, is asked first). */
  remember(principal: Principal): void {
    if (principal.kind === 'user') this.seen.set(principal.user, principal);
  }

  /** What the role rules know of user `name`: admin flag, granted roles, `act-for-users`. */
  holder(name: string): RoleHolder {
    const principal = this.sources.userOf?.(name) ?? this.seen.get(name);
    const grants = this.grants.get(name);
    return {
      user: name,
      admin: principal?.admin === true && principal.kind === 'user',
      roles: grants?.roles ?? [],
      actForUsers: grants?.actForUsers === true,
    };
  }

  /** Throws GALAXY_E_PERMISSION_DENIED naming the roles of `roles` that `owner` does not hold. */
  requireRoles(owner: string, roles: readonly string[], framework: string): void {
    const missing = missingRoles(this.holder(owner), roles);
    if (missing.length === 0) return;
    throw new GalaxyError(
      'GALAXY_E_PERMISSION_DENIED',
      `user ${owner || '(unknown)'} does not hold role ${missing.join(', ')} for framework ${framework}; a user holds its own role (and below it), others an admin grants with "galaxy grant role ${owner || '<user>'} <role>"`,
    );
  }

  /** The user a task in `role` of a framework owned by `owner` acts for. */
  actingUser(owner: string, role: string): string {
    return actingUser(this.holder(owner), role);
  }

  /** True when user `name` holds `authority` in `pool` (admins hold everything). */
  userHolds(name: string, pool: string, authority: Authority): boolean {
    return this.holder(name).admin || grantsAllow(this.grants.get(name), pool, authority);
  }

  /** True when `principal` holds `authority` in `pool`. */
  holds(principal: Principal | undefined, pool: string, authority: Authority): boolean {
    if (!principal) return false;
    if (principal.admin) return true;
    return principal.kind === 'user' && grantsAllow(this.grants.get(principal.user), pool, authority);
  }

  /**
   * Checks a launch of `bands` (one per task) in `role` on `agentId` for a framework owned by
   * `owner`: the owner still holds the role, and the acting user holds `container:create` and each
   * band's authority in the agent's pool.
   */
  checkLaunch(
    owner: string,
    role: string,
    agentId: string,
    bands: readonly (Band | undefined)[],
    framework: string,
  ): void {
    this.requireRoles(owner, [role], framework);
    if (!this.enforcesAuthorities) return;
    const pool = this.poolOf(agentId);
    const user = this.actingUser(owner, role);
    this.require(
      user,
      pool,
      'container:create',
      `framework ${framework} may not launch in role ${role} on agent ${agentId}`,
    );
    for (const authority of new Set(bands.map(bandAuthority)))
      if (authority)
        this.require(user, pool, authority, `framework ${framework} may not launch such tasks in role ${role}`);
  }

  /** Checks a KILL of a task in `role` on `agentId`: the acting user needs `container:remove`. */
  checkKill(owner: string, role: string, agentId: string, framework: string): void {
    if (!this.enforcesAuthorities) return;
    const user = this.actingUser(owner, role);
    this.require(
      user,
      this.poolOf(agentId),
      'container:remove',
      `framework ${framework} may not kill on agent ${agentId}`,
    );
  }

  /** Checks a PREEMPT in `role` for `band` in `pool`: the acting user needs the band's authority there. */
  checkPreempt(owner: string, role: string, pool: string, band: Band, framework: string): void {
    this.requireRoles(owner, [role], framework);
    const authority = bandAuthority(band);
    if (!this.enforcesAuthorities || !authority) return;
    const user = this.actingUser(owner, role);
    this.require(user, pool, authority, `framework ${framework} may not preempt for role ${role}`);
  }

  /**
   * Which tasks `caller` may see in `ListTasks`: admins all; a user those of their own frameworks
   * or acting for them, in pools where they hold `container:list` (when authorities are checked).
   */
  taskFilter(caller: Principal, ownerOf: (frameworkId: string) => string | undefined): (task: Task) => boolean {
    if (caller.admin && caller.kind === 'user') return () => true;
    if (caller.kind !== 'user') return () => false;
    return (task) => {
      const owner = ownerOf(task.frameworkId);
      const mine = owner === caller.user || (owner !== undefined && this.actingUser(owner, task.role) === caller.user);
      return mine && (!this.enforcesAuthorities || this.holds(caller, this.poolOf(task.agentId), 'container:list'));
    };
  }

  private poolOf(agentId: string): string {
    return this.sources.poolOf(agentId) ?? '';
  }

  private require(user: string, pool: string, authority: Authority, what: string): void {
    if (this.userHolds(user, pool, authority)) return;
    throw new GalaxyError(
      'GALAXY_E_PERMISSION_DENIED',
      `user ${user} lacks ${authority} in pool ${pool}: ${what}; an admin can grant it with "galaxy grant ${user} ${pool} ${authority}"`,
    );
  }

  /**
   * Checks what a task's container asks beyond `container:create` (`core/tenancy/sandbox.ts`): the
   * acting user of `role` needs `task:run-as` for a named host user and `task:capabilities` for
   * capabilities beyond the default set in the agent's pool; real root is for admins only.
   */
  checkSandbox(owner: string, role: string, agentId: string, task: TaskInfo, framework: string): void {
    if (!this.enforcesAuthorities) return;
    const pool = this.poolOf(agentId);
    const user = this.actingUser(owner, role);
    const needs = sandboxNeeds(task.command?.user ?? '', task.container?.capabilities ?? []);
    const denial = sandboxDenial(needs, this.holder(user).admin, (authority) => this.userHolds(user, pool, authority));
    if (denial === undefined) return;
    throw new GalaxyError(
      'GALAXY_E_PERMISSION_DENIED',
      `task ${task.taskId} of framework ${framework} ${denial} in pool ${pool}; user ${user} lacks it (an admin grants it: galaxy grant ${user} ${pool} ${needs.authorities.join(' ') || '…'})`,
    );
  }
}
