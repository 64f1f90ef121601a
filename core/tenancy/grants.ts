/**
 * Authorities: what a user may do in a pool (`docs/tenancy.md`, Authorities). Grants are kept
 * per user under `grants/<user>` as `{ pools: { "<pool>" or "*": Authority[] }, roles?, actForUsers? }`;
 * `*` covers every pool. Admins hold every authority everywhere and need no grant. `roles` are the
 * roles the user may subscribe frameworks with besides its own, and `actForUsers` lets its
 * frameworks act for every user (docs/security.md, "Roles"; the rules are in `roles.ts`).
 *
 * Checks are on the path of every verb, so a user's grants are cached for a short while
 * ({@link GrantStoreOptions.cacheMs}); a grant made through this store is seen at once, one made
 * by another process within that while.
 */
import type { Coordinator } from '../coordinator/coordinator.js';
import { GalaxyError } from '../errors.js';
import type { Principal } from '../auth/principal.js';
import { Band, effectiveBand } from '../bands.js';
import { checkRole } from '../validate.js';
import { readJson, updateJson } from './cas.js';
import { GRANTS_DIR, grantsKey } from './keys.js';
import { USER_NAME, checkUserName } from './users.js';

/** Every authority, in the order the docs list them. */
export const AUTHORITIES = [
  'job:create',
  'job:update',
  'job:remove',
  'job:list',
  'job:any',
  'container:create',
  'container:remove',
  'container:list',
  'band:production',
  'band:monitoring',
  // The sandbox (docs/security.md, "Users and capabilities"): run as a named host user; add
  // capabilities beyond the default set. Running as real root is for admins only.
  'task:run-as',
  'task:capabilities',
] as const;

/** One of {@link AUTHORITIES}. */
export type Authority = (typeof AUTHORITIES)[number];

/** The pool name that stands for every pool. */
export const ALL_POOLS = '*';

/** A user's grants as stored: pool (or `*`) → authorities; granted roles; `act-for-users`. */
export interface GrantsRecord {
  pools: Record<string, Authority[]>;
  /** Roles granted besides the user's own (each covers its subtree). */
  roles?: string[];
  /** The user's frameworks may act for every user (a shared framework such as the AppMaster). */
  actForUsers?: boolean;
}

/** One user's grants, as listed. */
export interface UserGrants extends GrantsRecord {
  readonly user: string;
}

/** Tuning of a {@link GrantStore}. */
export interface GrantStoreOptions {
  /** How long a user's grants read from the coordinator are trusted. Default 1000 ms. */
  readonly cacheMs?: number;
  /** The clock (tests). */
  readonly now?: () => number;
}

const POOL = /^[A-Za-z0-9_.-]{1,63}$/;

/** Throws GALAXY_E_INVALID_ARGUMENT unless `pool` is a pool name or `*`. */
export function checkPoolName(pool: string): void {
  if (pool !== ALL_POOLS && !POOL.test(pool))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `pool "${pool.slice(0, 40)}" is not a pool name or "*"`);
}

/** Checks and returns authorities given as text (e.g. from the CLI). */
export function parseAuthorities(values: readonly string[]): Authority[] {
  for (const value of values)
    if (!(AUTHORITIES as readonly string[]).includes(value))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `"${value.slice(0, 40)}" is not an authority; use one of ${AUTHORITIES.join(', ')}`,
      );
  return [...new Set(values)] as Authority[];
}

/**
 * The GALAXY_E_PERMISSION_DENIED for `user` lacking `missing` in `pool`, with the grant that fixes
 * it; `context` (e.g. why the authority is needed) follows the authorities.
 */
export function permissionDenied(user: string, pool: string, missing: readonly Authority[], context = ''): GalaxyError {
  const them = missing.length === 1 ? 'it' : 'them';
  return new GalaxyError(
    'GALAXY_E_PERMISSION_DENIED',
    `user ${user} lacks ${missing.join(' and ')} in pool ${pool}${context}; an admin can grant ${them} with "galaxy grant ${user} ${pool} ${missing.join(' ')}"`,
  );
}

/**
 * The authority a task or preemption of `band` needs in its pool: `band:monitoring`, or
 * `band:production` (also for an unspecified band); none for batch and best-effort.
 */
export function bandAuthority(band: Band | undefined): Authority | undefined {
  switch (effectiveBand(band)) {
    case Band.BAND_MONITORING:
      return 'band:monitoring';
    case Band.BAND_PRODUCTION:
      return 'band:production';
    default:
      return undefined;
  }
}

/** True when the record holds nothing: it is deleted rather than kept empty. */
function isEmptyGrants(record: GrantsRecord): boolean {
  return Object.keys(record.pools).length === 0 && (record.roles ?? []).length === 0 && record.actForUsers !== true;
}

/** `record` without empty parts (no `roles: []`, no `actForUsers: false`), or undefined when nothing is left. */
function compact(record: GrantsRecord): GrantsRecord | undefined {
  if (isEmptyGrants(record)) return undefined;
  return {
    pools: record.pools,
    ...((record.roles ?? []).length > 0 ? { roles: record.roles } : {}),
    ...(record.actForUsers === true ? { actForUsers: true } : {}),
  };
}

/** True when `grants` give `authority` in `pool` (directly or through `*`). */
export function grantsAllow(grants: GrantsRecord | undefined, pool: string, authority: Authority): boolean {
  if (!grants) return false;
  return [grants.pools[pool], grants.pools[ALL_POOLS]].some((list) => list?.includes(authority) === true);
}

/** Grants and checks authorities. */
export class GrantStore {
  private readonly cache = new Map<string, { grants: GrantsRecord | undefined; at: number }>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly coordinator: Coordinator,
    options: GrantStoreOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** Adds `authorities` to `user` in `pool` (`*` = every pool). Resolves with the user's grants. */
  async grant(user: string, pool: string, authorities: readonly string[]): Promise<GrantsRecord> {
    checkUserName(user);
    checkPoolName(pool);
    const adding = parseAuthorities(authorities);
    if (adding.length === 0) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'name at least one authority to grant');
    const written = await updateJson<GrantsRecord>(this.coordinator, grantsKey(user), (current) => {
      const pools = { ...(current?.pools ?? {}) };
      const held = new Set([...(pools[pool] ?? []), ...adding]);
      pools[pool] = AUTHORITIES.filter((a) => held.has(a));
      return compact({ ...current, pools });
    });
    this.cache.delete(user);
    return written ?? { pools: {} };
  }

  /**
   * Takes `authorities` (all of them when none is named) from `user` in `pool`. Only the grant
   * on exactly that pool changes: revoking in `default` leaves a `*` grant in place.
   */
  async revoke(user: string, pool: string, authorities: readonly string[] = []): Promise<GrantsRecord> {
    checkUserName(user);
    checkPoolName(pool);
    const removing = new Set(authorities.length === 0 ? AUTHORITIES : parseAuthorities(authorities));
    const written = await updateJson<GrantsRecord>(this.coordinator, grantsKey(user), (current) => {
      const left = (current?.pools[pool] ?? []).filter((a) => !removing.has(a));
      const pools = Object.fromEntries(Object.entries(current?.pools ?? {}).filter(([p]) => p !== pool));
      if (left.length > 0) pools[pool] = left;
      return compact({ ...current, pools });
    });
    this.cache.delete(user);
    return written ?? { pools: {} };
  }

  /**
   * Grants (or, with `revoke`, takes back) roles and the right to act for every user. Roles are
   * checked as role paths; revoking a role takes back exactly that grant, not a broader one.
   */
  async grantRoles(
    user: string,
    change: { readonly roles?: readonly string[]; readonly actForUsers?: boolean; readonly revoke?: boolean },
  ): Promise<GrantsRecord> {
    checkUserName(user);
    const roles = [...new Set(change.roles ?? [])];
    for (const role of roles) checkRole(role);
    if (roles.length === 0 && change.actForUsers !== true)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'name at least one role, or act-for-users');
    const written = await updateJson<GrantsRecord>(this.coordinator, grantsKey(user), (current) => {
      const held = new Set(current?.roles ?? []);
      for (const role of roles) {
        if (change.revoke) held.delete(role);
        else held.add(role);
      }
      const actForUsers = change.actForUsers === true ? !change.revoke : current?.actForUsers === true;
      return compact({ pools: current?.pools ?? {}, roles: [...held].sort(), actForUsers });
    });
    this.cache.delete(user);
    return written ?? { pools: {} };
  }

  /** What `user` was granted (read fresh). */
  async grantsOf(user: string): Promise<GrantsRecord> {
    checkUserName(user);
    const grants = (await readJson(this.coordinator, grantsKey(user)))?.value as GrantsRecord | undefined;
    this.cache.set(user, { grants, at: this.now() });
    return grants ?? { pools: {} };
  }

  /** Every user with grants, by name. */
  async list(): Promise<UserGrants[]> {
    const users = await this.coordinator.list(GRANTS_DIR);
    const out: UserGrants[] = [];
    for (const user of users) {
      const grants = await this.grantsOf(user);
      if (!isEmptyGrants(grants)) out.push({ user, ...grants });
    }
    return out;
  }

  /** True when `principal` holds `authority` in `pool`; admins hold everything. */
  async holds(principal: Principal, pool: string, authority: Authority): Promise<boolean> {
    if (principal.admin) return true;
    if (principal.kind !== 'user') return false;
    return grantsAllow(await this.cached(principal.user), pool, authority);
  }

  /**
   * Resolves when `principal` holds `authority` in `pool`; else rejects with
   * GALAXY_E_PERMISSION_DENIED naming the user, the authority and the pool.
   */
  async authorize(principal: Principal, pool: string, authority: Authority): Promise<void> {
    if (await this.holds(principal, pool, authority)) return;
    throw permissionDenied(principal.user, pool, [authority]);
  }

  /** The grants of `principal`, cached as for {@link holds}; agents and pods hold none. */
  async grantsFor(principal: Principal): Promise<GrantsRecord | undefined> {
    return principal.kind === 'user' ? this.cached(principal.user) : undefined;
  }

  /** A test of pools for `authority`, read once: for filtering listings without a read per row. */
  async poolFilter(principal: Principal, authority: Authority): Promise<(pool: string) => boolean> {
    if (principal.admin) return () => true;
    if (principal.kind !== 'user') return () => false;
    const grants = await this.cached(principal.user);
    return (pool) => grantsAllow(grants, pool, authority);
  }

  private async cached(user: string): Promise<GrantsRecord | undefined> {
    const hit = this.cache.get(user);
    if (hit && this.now() - hit.at < this.cacheMs) return hit.grants;
    if (!USER_NAME.test(user)) return undefined;
    const grants = (await readJson(this.coordinator, grantsKey(user)))?.value as GrantsRecord | undefined;
    this.cache.set(user, { grants, at: this.now() });
    return grants;
  }
}
