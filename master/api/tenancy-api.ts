/**
 * The Operator RPCs of authorities, roles and quotas (`galaxy grant`, `galaxy grant role`,
 * `galaxy grant act-for-users`, `galaxy grants`, `galaxy quota set|show`). Admins change them; any user may read their own. The state lives in
 * the coordinator (`core/tenancy/grants.ts`, `core/tenancy/quotas.ts`), where the frameworks
 * read it; a master without a coordinator refuses these calls.
 */
import { requireAdmin, unaryAsCaller } from '../../core/auth/caller.js';
import type { Principal } from '../../core/auth/principal.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { GalaxyError } from '../../core/errors.js';
import { GrantStore, type GrantsRecord } from '../../core/tenancy/grants.js';
import { GUARANTEE_RESOURCES, QUOTA_RESOURCES, QuotaStore, type QuotaView } from '../../core/tenancy/quotas.js';
import type {
  OperatorServer,
  QuotaAmounts,
  UserGrantsEntry,
  UserQuotaEntry,
} from '../../proto/gen/galaxy/v1/operator.js';

/** The tenancy handlers of the Operator service. */
export type TenancyOperator = Pick<
  OperatorServer,
  'grantAuthorities' | 'grantRoles' | 'listGrants' | 'setUserQuota' | 'listUserQuotas'
>;

/** Admins may do anything here; other users only read their own `user` (empty = everyone: admins). */
function mayRead(caller: Principal, user: string, what: string): void {
  if (caller.admin || (caller.kind === 'user' && user === caller.user)) return;
  throw new GalaxyError(
    'GALAXY_E_PERMISSION_DENIED',
    `user ${caller.user} may read only their own ${what} (${caller.user})`,
  );
}

function grantsEntry(user: string, grants: GrantsRecord): UserGrantsEntry {
  return {
    user,
    pools: Object.entries(grants.pools).map(([pool, authorities]) => ({ pool, authorities })),
    roles: grants.roles ?? [],
    actForUsers: grants.actForUsers === true,
  };
}

/** The fields of `a` a quota counts (the wire's QuotaAmounts, a record's limit or a claim). */
function pick<K extends string>(a: object, keys: readonly K[]): Record<K, number | undefined> {
  const from = a as Partial<Record<string, unknown>>;
  return Object.fromEntries(keys.map((k) => [k, typeof from[k] === 'number' ? from[k] : undefined])) as Record<
    K,
    number | undefined
  >;
}

function amounts(a: object): QuotaAmounts {
  return pick(a, QUOTA_RESOURCES);
}

function quotaEntry(view: QuotaView): UserQuotaEntry {
  return {
    user: view.user,
    limit: amounts(view.limit),
    guarantee: amounts(view.guarantee),
    used: amounts(view.used),
    claims: Object.entries(view.claims).map(([key, c]) => ({ key, pool: c.pool, amounts: amounts(c) })),
  };
}

/** Builds the tenancy handlers over `coordinator` (undefined: every call is refused). */
export function tenancyOperatorApi(coordinator: Coordinator | undefined): TenancyOperator {
  const stores = coordinator && { grants: new GrantStore(coordinator), quotas: new QuotaStore(coordinator) };
  const need = () => {
    if (!stores)
      throw new GalaxyError(
        'GALAXY_E_COORD_UNAVAILABLE',
        'this master keeps no tenancy state: start it with a coordinator (galaxy up and galaxy master --coordinator do)',
      );
    return stores;
  };
  return {
    grantAuthorities: unaryAsCaller(async (request, caller) => {
      requireAdmin(caller, 'grant and revoke authorities');
      const { grants } = need();
      const after = request.revoke
        ? await grants.revoke(request.user, request.pool, request.authorities)
        : await grants.grant(request.user, request.pool, request.authorities);
      return { grants: grantsEntry(request.user, after) };
    }),
    grantRoles: unaryAsCaller(async (request, caller) => {
      requireAdmin(caller, 'grant and revoke roles');
      const { grants } = need();
      const after = await grants.grantRoles(request.user, {
        roles: request.roles,
        actForUsers: request.actForUsers,
        revoke: request.revoke,
      });
      return { grants: grantsEntry(request.user, after) };
    }),
    listGrants: unaryAsCaller(async (request, caller) => {
      mayRead(caller, request.user, 'grants');
      const { grants } = need();
      if (request.user !== '') return { users: [grantsEntry(request.user, await grants.grantsOf(request.user))] };
      return { users: (await grants.list()).map((g) => grantsEntry(g.user, g)) };
    }),
    setUserQuota: unaryAsCaller(async (request, caller) => {
      requireAdmin(caller, 'set quotas');
      const { quotas } = need();
      const guarantee = pick(request.guarantee ?? {}, GUARANTEE_RESOURCES);
      await quotas.set(request.user, {
        limit: pick(request.limit ?? {}, QUOTA_RESOURCES),
        ...(Object.values(guarantee).some((v) => v !== undefined) ? { guarantee } : {}),
      });
      return { quota: quotaEntry(await quotas.show(request.user)) };
    }),
    listUserQuotas: unaryAsCaller(async (request, caller) => {
      mayRead(caller, request.user, 'quota');
      const { quotas } = need();
      if (request.user !== '') return { quotas: [quotaEntry(await quotas.show(request.user))] };
      return { quotas: (await quotas.list()).map(quotaEntry) };
    }),
  };
}
