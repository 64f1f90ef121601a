/**
 * Authorization of what frameworks do on the master, on an authenticating master with tenancy
 * state (docs/tenancy.md, Authorities): a framework launches on an agent of pool P only with
 * `container:create` on P, kills only with `container:remove` there, and `ListTasks` shows a
 * caller only the tasks in pools where it holds `container:list`. A framework acts as the
 * principal that subscribed it.
 *
 * These checks run inside synchronous scheduler calls, so the grants are mirrored in memory:
 * loaded once, then followed through a coordinator watch.
 */
import type { Principal } from '../core/auth/principal.js';
import type { Coordinator, Unwatch } from '../core/coordinator/coordinator.js';
import { GalaxyError } from '../core/errors.js';
import { grantsAllow, type Authority, type GrantsRecord } from '../core/tenancy/grants.js';
import { GRANTS_DIR, grantsKey } from '../core/tenancy/keys.js';
import type { Task, TaskInfo } from '../proto/gen/galaxy/v1/common.js';
import { sandboxDenial, sandboxNeeds } from '../core/tenancy/sandbox.js';

function parse(value: string | undefined): GrantsRecord | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as GrantsRecord;
  } catch {
    return undefined;
  }
}

/** The master's view of grants and its checks. */
export class MasterAuthorization {
  private readonly grants = new Map<string, GrantsRecord>();
  private unwatch: Unwatch | undefined;

  constructor(
    private readonly coordinator: Coordinator,
    /** The pool of an agent, if it is known. */
    private readonly poolOf: (agentId: string) => string | undefined,
  ) {}

  /** Loads every user's grants and follows later changes. */
  async load(): Promise<void> {
    this.unwatch = this.coordinator.watch(GRANTS_DIR, (change) => {
      const user = change.key.slice(GRANTS_DIR.length + 1);
      if (user === '' || user.includes('/')) return;
      const grants = parse(change.value);
      if (grants) this.grants.set(user, grants);
      else this.grants.delete(user);
    });
    for (const user of await this.coordinator.list(GRANTS_DIR)) {
      const grants = parse((await this.coordinator.get(grantsKey(user)))?.value);
      if (grants) this.grants.set(user, grants);
    }
  }

  /** Stops following changes. */
  close(): void {
    this.unwatch?.();
  }

  /** True when `principal` holds `authority` in `pool`. */
  holds(principal: Principal | undefined, pool: string, authority: Authority): boolean {
    if (!principal) return false;
    if (principal.admin) return true;
    return principal.kind === 'user' && grantsAllow(this.grants.get(principal.user), pool, authority);
  }

  /** Throws GALAXY_E_PERMISSION_DENIED unless the framework's principal may do `authority` on `agentId`. */
  check(principal: Principal | undefined, agentId: string, authority: Authority, framework: string): void {
    const pool = this.poolOf(agentId) ?? '';
    if (this.holds(principal, pool, authority)) return;
    throw new GalaxyError(
      'GALAXY_E_PERMISSION_DENIED',
      `user ${principal?.user ?? '(none)'} lacks ${authority} in pool ${pool}: framework ${framework} may not do that on agent ${agentId}`,
    );
  }

  /**
   * Throws GALAXY_E_PERMISSION_DENIED unless the framework's principal may give `task` its user
   * and capabilities on `agentId` (core/tenancy/sandbox.ts).
   */
  checkSandbox(principal: Principal | undefined, agentId: string, task: TaskInfo, framework: string): void {
    const pool = this.poolOf(agentId) ?? '';
    const needs = sandboxNeeds(task.command?.user ?? '', task.container?.capabilities ?? []);
    const denial = sandboxDenial(needs, principal?.admin === true, (authority) =>
      this.holds(principal, pool, authority),
    );
    if (denial === undefined) return;
    throw new GalaxyError(
      'GALAXY_E_PERMISSION_DENIED',
      `task ${task.taskId} of framework ${framework} ${denial} in pool ${pool}; user ${principal?.user ?? '(none)'} lacks it (an admin grants it: galaxy grant ${principal?.user ?? '<user>'} ${pool} ${needs.authorities.join(' ') || '…'})`,
    );
  }

  /** Which tasks `principal` may see in `ListTasks`. */
  taskFilter(principal: Principal): (task: Task) => boolean {
    return (task) => this.holds(principal, this.poolOf(task.agentId) ?? '', 'container:list');
  }
}
