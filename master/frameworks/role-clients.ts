/**
 * Multi-role frameworks on a one-role allocator API: the master gives the allocator plugin one
 * client per (framework, role) pair, so every allocator — DRF, round-robin, a custom one — keeps its
 * per-role fair share, quota limits and guarantees, reservations and filters without knowing that
 * a framework may hold several roles (docs/security.md, "Roles"). The master speaks of frameworks
 * and roles; this adapter speaks of clients to the allocator.
 *
 * A client's id is `<framework id>/<role>`: framework ids never contain `/` (see `checkId`), so
 * the id splits back at its first `/`. A role the framework drops while tasks still run in it is
 * **retired**: it gets no offers, keeps what its tasks hold, and leaves the allocator when the
 * master says its last task ended ({@link RoleClients.releaseRetired}).
 */
import type { Allocator, RefuseFilter } from '../../allocators/allocator.js';
import { emptyResources } from '../../core/resources.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';

/** Most roles one framework may hold. */
export const MAX_ROLES = 1000;

/** One framework's clients. */
interface FrameworkClients {
  readonly name: string;
  active: boolean;
  /** Role → whether it is retired (dropped, still holding tasks), and suppressed. */
  readonly roles: Map<string, { retired: boolean; suppressed: boolean }>;
}

/** An allocation, in the master's terms. */
export interface RoleAllocation {
  readonly frameworkId: string;
  readonly role: string;
  readonly agentId: string;
  readonly resources: Resources;
  readonly reservedRole?: string;
}

/** The id of the allocator client of `role` of `frameworkId`. */
export function clientId(frameworkId: string, role: string): string {
  return `${frameworkId}/${role}`;
}

/** The framework and role of a client id. */
export function parseClientId(id: string): { frameworkId: string; role: string } {
  const slash = id.indexOf('/');
  return slash < 0 ? { frameworkId: id, role: '' } : { frameworkId: id.slice(0, slash), role: id.slice(slash + 1) };
}

/** The allocator, seen per framework and role. */
export class RoleClients {
  private readonly frameworks = new Map<string, FrameworkClients>();

  constructor(private readonly allocator: Allocator) {}

  /** Adds a framework with its roles (none may be known yet). */
  add(frameworkId: string, name: string, roles: readonly string[], active: boolean): void {
    const entry: FrameworkClients = { name, active, roles: new Map() };
    this.frameworks.set(frameworkId, entry);
    for (const role of roles) this.addClient(frameworkId, entry, role, false);
  }

  /** True when the framework has a client for `role` (retired or not). */
  hasClient(frameworkId: string, role: string): boolean {
    return this.frameworks.get(frameworkId)?.roles.has(role) === true;
  }

  /**
   * Makes sure a client for `role` exists: a task reported in a role the framework no longer
   * lists (adopted after a failover) needs one to hold its resources; it is retired at once.
   */
  ensureRole(frameworkId: string, role: string): void {
    const entry = this.frameworks.get(frameworkId);
    if (!entry || entry.roles.has(role)) return;
    this.addClient(frameworkId, entry, role, true);
  }

  /** The framework's roles that get offers (not retired), in the order they were added. */
  roles(frameworkId: string): string[] {
    const entry = this.frameworks.get(frameworkId);
    return entry ? [...entry.roles].filter(([, c]) => !c.retired).map(([role]) => role) : [];
  }

  /** True when `role` is one of the framework's roles that get offers. */
  hasRole(frameworkId: string, role: string): boolean {
    const client = this.frameworks.get(frameworkId)?.roles.get(role);
    return client !== undefined && !client.retired;
  }

  /**
   * Changes the framework's roles. New ones get clients (unsuppressed, as in Mesos); dropped ones
   * are retired while `live(role)` says tasks still run in them, removed otherwise. Returns the
   * roles retired or removed, whose offers the caller rescinds.
   */
  setRoles(frameworkId: string, roles: readonly string[], live: (role: string) => boolean): string[] {
    const entry = this.frameworks.get(frameworkId);
    if (!entry) return [];
    const wanted = new Set(roles);
    const dropped: string[] = [];
    for (const [role, client] of [...entry.roles]) {
      if (wanted.has(role)) {
        if (client.retired) {
          client.retired = false;
          if (entry.active) this.allocator.activateFramework(clientId(frameworkId, role));
        }
        continue;
      }
      if (client.retired) continue;
      dropped.push(role);
      if (live(role)) {
        client.retired = true;
        if (entry.active) this.allocator.deactivateFramework(clientId(frameworkId, role));
      } else {
        this.removeClient(frameworkId, entry, role);
      }
    }
    for (const role of roles) if (!entry.roles.has(role)) this.addClient(frameworkId, entry, role, false);
    return dropped;
  }

  /**
   * A task in `role` ended: a retired role without live tasks (`live()` false; asked only of a
   * retired role) leaves the allocator.
   */
  releaseRetired(frameworkId: string, role: string, live: () => boolean): void {
    const entry = this.frameworks.get(frameworkId);
    if (entry?.roles.get(role)?.retired !== true || live()) return;
    this.removeClient(frameworkId, entry, role);
  }

  /** Removes every client of the framework; what they held is freed. */
  remove(frameworkId: string): void {
    const entry = this.frameworks.get(frameworkId);
    if (!entry) return;
    for (const role of [...entry.roles.keys()]) this.removeClient(frameworkId, entry, role);
    this.frameworks.delete(frameworkId);
  }

  /** The framework (re-)subscribed: its roles get offers again. */
  activate(frameworkId: string): void {
    const entry = this.frameworks.get(frameworkId);
    if (!entry) return;
    entry.active = true;
    for (const [role, client] of entry.roles)
      if (!client.retired) this.allocator.activateFramework(clientId(frameworkId, role));
  }

  /** The framework disconnected: no offers, but it keeps what it holds. */
  deactivate(frameworkId: string): void {
    const entry = this.frameworks.get(frameworkId);
    if (!entry) return;
    entry.active = false;
    for (const [role, client] of entry.roles)
      if (!client.retired) this.allocator.deactivateFramework(clientId(frameworkId, role));
  }

  /** SUPPRESS of `roles` (empty: all of the framework's roles). */
  suppress(frameworkId: string, roles: readonly string[] = []): void {
    this.each(frameworkId, roles, (id, client) => {
      client.suppressed = true;
      this.allocator.suppressOffers(id);
    });
  }

  /** REVIVE of `roles` (empty: all of the framework's roles). */
  revive(frameworkId: string, roles: readonly string[] = []): void {
    this.each(frameworkId, roles, (id, client) => {
      client.suppressed = false;
      this.allocator.reviveOffers(id);
    });
  }

  /** True when every role of the framework that gets offers is suppressed. */
  suppressed(frameworkId: string): boolean {
    const clients = [...(this.frameworks.get(frameworkId)?.roles.values() ?? [])].filter((c) => !c.retired);
    return clients.length > 0 && clients.every((c) => c.suppressed);
  }

  /** True when `role` of the framework gets offers now: active, not retired, not suppressed. */
  wantsOffers(frameworkId: string, role: string): boolean {
    const entry = this.frameworks.get(frameworkId);
    const client = entry?.roles.get(role);
    return entry?.active === true && client !== undefined && !client.retired && !client.suppressed;
  }

  /** Gives back what `role` of the framework held on the agent (see {@link Allocator.recoverResources}). */
  recover(frameworkId: string, role: string, agentId: string, resources: Resources, filter?: RefuseFilter): void {
    this.allocator.recoverResources(clientId(frameworkId, role), agentId, resources, filter);
  }

  /** Preemption's set-aside for `role` of the framework (see {@link Allocator.setAside}). */
  setAside(frameworkId: string, role: string, agentId: string): Resources {
    if (!this.frameworks.get(frameworkId)?.roles.has(role)) return emptyResources();
    return this.allocator.setAside?.(clientId(frameworkId, role), agentId) ?? emptyResources();
  }

  /** One allocation pass, in the master's terms. */
  allocate(): RoleAllocation[] {
    return this.allocator.allocate().map((allocation) => {
      const { frameworkId, role } = parseClientId(allocation.frameworkId);
      return {
        frameworkId,
        role,
        agentId: allocation.agentId,
        resources: allocation.resources,
        ...(allocation.reservedRole === undefined ? {} : { reservedRole: allocation.reservedRole }),
      };
    });
  }

  /** The dominant share of the framework in `role` (after the role's weight). */
  roleShare(frameworkId: string, role: string): number {
    return this.allocator.share(clientId(frameworkId, role));
  }

  /** The framework's share in each of its roles (retired ones too, while they hold something). */
  roleShares(frameworkId: string): { role: string; share: number }[] {
    const entry = this.frameworks.get(frameworkId);
    return entry ? [...entry.roles.keys()].map((role) => ({ role, share: this.roleShare(frameworkId, role) })) : [];
  }

  /** What operators see as the framework's dominant share: the sum over its roles. */
  share(frameworkId: string): number {
    return this.roleShares(frameworkId).reduce((sum, r) => sum + r.share, 0);
  }

  private addClient(frameworkId: string, entry: FrameworkClients, role: string, retired: boolean): void {
    entry.roles.set(role, { retired, suppressed: false });
    this.allocator.addFramework(
      { id: clientId(frameworkId, role), name: entry.name, role },
      new Map(),
      entry.active && !retired,
    );
  }

  private removeClient(frameworkId: string, entry: FrameworkClients, role: string): void {
    entry.roles.delete(role);
    this.allocator.removeFramework(clientId(frameworkId, role));
  }

  private each(
    frameworkId: string,
    roles: readonly string[],
    apply: (id: string, client: { retired: boolean; suppressed: boolean }) => void,
  ): void {
    const entry = this.frameworks.get(frameworkId);
    if (!entry) return;
    for (const [role, client] of entry.roles) {
      if (client.retired || (roles.length > 0 && !roles.includes(role))) continue;
      apply(clientId(frameworkId, role), client);
    }
  }
}
