/**
 * Who is calling: the identity a server derives from a call's bearer token. Handlers ask
 * {@link principalOf} for it; the authenticating server interceptor (see `core/auth/server.ts`)
 * has already refused calls without a valid token, so a handler never sees an anonymous caller on
 * an authenticated server. A server with no authenticator ("open", as in unit tests) treats every
 * caller as {@link OPEN_PRINCIPAL}.
 */
import type { Metadata } from '@grpc/grpc-js';

/** What kind of identity a token belongs to. */
export type PrincipalKind = 'user' | 'agent' | 'pod';

/** An authenticated caller. */
export interface Principal {
  /** The user name (for agents: `agent`; for pods: the job's owner). */
  readonly user: string;
  /** Admins hold every authority in every pool and manage users, pools, quotas and machines. */
  readonly admin: boolean;
  readonly kind: PrincipalKind;
  /** For an agent's credential: the one agent id it may register as (docs/security.md). */
  readonly agentId?: string;
  /** For an agent holding a join token instead: the token's id; it admits a new agent once. */
  readonly joinToken?: string;
}

/** The caller on a server that does not authenticate. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({ user: 'anonymous', admin: true, kind: 'user' as const });

/**
 * Turns a bearer token into a principal; undefined when the token is unknown. It may throw a
 * `GALAXY_E_UNAUTHENTICATED` error that says why a known token is refused (an expired join token).
 */
export type Authenticator = (token: string) => Principal | undefined;

/** An authenticator that asks each of `authenticators` in turn (users, then agents…); undefined when none is given. */
export function anyOf(...authenticators: (Authenticator | undefined)[]): Authenticator | undefined {
  const present = authenticators.filter((a): a is Authenticator => a !== undefined);
  if (present.length === 0) return undefined;
  if (present.length === 1) return present[0];
  return (token) => {
    for (const authenticate of present) {
      const principal = authenticate(token);
      if (principal) return principal;
    }
    return undefined;
  };
}

/** The metadata key that carries `Bearer <token>`. */
export const AUTHORIZATION_KEY = 'authorization';

/** The token of a call's metadata, or undefined. Never log what this returns. */
export function bearerToken(metadata: Metadata): string | undefined {
  const value = metadata.get(AUTHORIZATION_KEY)[0];
  if (typeof value !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return match?.[1];
}

const principals = new WeakMap<object, Principal>();

/**
 * Records the principal of a call (the server interceptor does this, keyed by the call's request
 * metadata, which is the very object handlers see as `call.metadata`).
 */
export function setPrincipal(call: object, principal: Principal): void {
  principals.set(call, principal);
}

/**
 * The principal of a call: the one recorded for it, else the one its metadata's token resolves
 * to through `authenticate`, else {@link OPEN_PRINCIPAL} when the server is open.
 */
export function principalOf(call: { metadata: Metadata }, authenticate?: Authenticator): Principal | undefined {
  const recorded = principals.get(call) ?? principals.get(call.metadata);
  if (recorded) return recorded;
  if (!authenticate) return OPEN_PRINCIPAL;
  const token = bearerToken(call.metadata);
  return token === undefined ? undefined : authenticate(token);
}
