/**
 * The authority and quota calls of the Operator API, as the CLI makes them (through
 * `Operator.tenancy`, so they share its channel and credentials).
 */
import type { ServiceError } from '@grpc/grpc-js';
import type {
  GrantAuthoritiesResponse,
  ListGrantsResponse,
  ListUserQuotasResponse,
  OperatorClient,
  QuotaAmounts,
  SetUserQuotaResponse,
  UserGrantsEntry,
  UserQuotaEntry,
} from '../proto/gen/galaxy/v1/operator.js';

type Unary = <Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown) => Promise<Res>;

/** Grants and quotas. */
export interface TenancyCalls {
  grant(user: string, pool: string, authorities: string[], revoke: boolean): Promise<UserGrantsEntry | undefined>;
  /** Grants (or revokes) roles and, with `actForUsers`, the right to act for every user. */
  grantRoles(
    user: string,
    roles: string[],
    actForUsers: boolean,
    revoke: boolean,
  ): Promise<UserGrantsEntry | undefined>;
  grants(user: string): Promise<UserGrantsEntry[]>;
  setQuota(user: string, limit: QuotaAmounts, guarantee: QuotaAmounts): Promise<UserQuotaEntry | undefined>;
  quotas(user: string): Promise<UserQuotaEntry[]>;
}

/** The calls over `client`, each made through `unary` (which turns errors into coded ones). */
export function tenancyCalls(client: OperatorClient, unary: Unary): TenancyCalls {
  return {
    grant: async (user, pool, authorities, revoke) =>
      (await unary<GrantAuthoritiesResponse>((cb) => client.grantAuthorities({ user, pool, authorities, revoke }, cb)))
        .grants,
    grantRoles: async (user, roles, actForUsers, revoke) =>
      (await unary<GrantAuthoritiesResponse>((cb) => client.grantRoles({ user, roles, actForUsers, revoke }, cb)))
        .grants,
    grants: async (user) => (await unary<ListGrantsResponse>((cb) => client.listGrants({ user }, cb))).users,
    setQuota: async (user, limit, guarantee) =>
      (await unary<SetUserQuotaResponse>((cb) => client.setUserQuota({ user, limit, guarantee }, cb))).quota,
    quotas: async (user) => (await unary<ListUserQuotasResponse>((cb) => client.listUserQuotas({ user }, cb))).quotas,
  };
}
