/**
 * Who may act as a framework, which roles a principal holds, and whose authorities a launch in a
 * role needs (docs/security.md, "Frameworks belong to a principal" and "Roles"). Pure rules: the
 * master carries them out with its mirror of users and grants.
 *
 * - A user `u` holds the role `u` and its subtree (`u/…`) implicitly; granted roles cover their
 *   subtrees; `act-for-users` covers every user's role; admins hold every role.
 * - The **acting user** of a role is the user whose authorities, quota and ledger a task in that
 *   role binds: its first path segment (when that is a user name) for a framework that acts for
 *   users (admin owner, or `act-for-users`), else the framework's owner.
 */
import type { Principal } from '../auth/principal.js';
import { GalaxyError } from '../errors.js';
import { USER_NAME } from './users.js';

/** What the rules need to know of a framework's owner. */
export interface RoleHolder {
  readonly user: string;
  readonly admin: boolean;
  /** Roles granted besides the user's own. */
  readonly roles?: readonly string[];
  /** Granted `act-for-users`. */
  readonly actForUsers?: boolean;
}

/** True when `granted` covers `role`: the same path, or one below it (`eng` covers `eng/search`). */
export function roleCovers(granted: string, role: string): boolean {
  return role === granted || (granted !== '*' && role.startsWith(`${granted}/`));
}

/** The user a role belongs to: its first path segment when that is a user name, else undefined. */
export function roleOwner(role: string): string | undefined {
  const first = role.split('/', 1)[0] ?? '';
  return USER_NAME.test(first) ? first : undefined;
}

/** True when the holder may run frameworks that act for every user (admins do). */
export function actsForUsers(holder: RoleHolder): boolean {
  return holder.admin || holder.actForUsers === true;
}

/** True when `holder` may subscribe with (and launch into) `role`. */
export function holdsRole(holder: RoleHolder, role: string): boolean {
  if (holder.admin) return true;
  if (roleCovers(holder.user, role)) return true;
  if ((holder.roles ?? []).some((granted) => roleCovers(granted, role))) return true;
  return holder.actForUsers === true && roleOwner(role) !== undefined;
}

/** The roles of `roles` that `holder` does not hold, in order. */
export function missingRoles(holder: RoleHolder, roles: readonly string[]): string[] {
  return roles.filter((role) => !holdsRole(holder, role));
}

/** The user whose authorities, quota and ledger a task in `role` of a framework owned by `owner` binds. */
export function actingUser(owner: RoleHolder, role: string): string {
  const user = actsForUsers(owner) ? roleOwner(role) : undefined;
  return user ?? owner.user;
}

/**
 * True when `caller` may act as a framework owned by `owner` (a user name; '' when not known yet,
 * e.g. a framework first seen through a re-registering agent with no stored record): the owner
 * itself or an admin, and never an agent's or a pod's token, even one carrying the owner's name.
 */
export function mayActAs(caller: Principal, owner: string): boolean {
  if (caller.kind !== 'user') return false;
  return caller.admin || (owner !== '' && caller.user === owner);
}

/** Throws GALAXY_E_PERMISSION_DENIED unless {@link mayActAs} lets `caller` act as framework `id` of `owner`. */
export function requireActAs(caller: Principal, owner: string, id: string): void {
  if (mayActAs(caller, owner)) return;
  throw new GalaxyError(
    'GALAXY_E_PERMISSION_DENIED',
    `framework ${id.slice(0, 100)} belongs to another user; ${caller.user} may not act as it (only its owner or an admin may)`,
  );
}

/**
 * The roles a framework runs in: its `roles` (MULTI_ROLE) when it names any, else its single
 * `role`, else the subscriber's own role (a non-admin) or `*` (an admin). Duplicates go.
 */
export function effectiveRoles(
  info: { readonly role: string; readonly roles: readonly string[] },
  subscriber: RoleHolder,
): string[] {
  if (info.roles.length > 0) return [...new Set(info.roles)];
  if (info.role !== '') return [info.role];
  return [subscriber.admin ? '*' : subscriber.user];
}
