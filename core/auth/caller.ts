/**
 * Unary gRPC handlers that act as their caller: the handler gets the request and the call's
 * {@link Principal}, and a thrown coded error becomes the call's status (as with
 * `unaryHandler`). One helper for every service whose verbs depend on who calls.
 */
import type { Metadata, StatusObject } from '@grpc/grpc-js';
import { GalaxyError } from '../errors.js';
import { unaryHandler } from '../grpc-errors.js';
import { principalOf, type Authenticator, type Principal } from './principal.js';

/** The principal of `call`, or GALAXY_E_UNAUTHENTICATED when it has none (an authenticating server without a token). */
export function callerOf(call: { metadata: Metadata }, authenticate?: Authenticator): Principal {
  const caller = principalOf(call, authenticate);
  if (!caller) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', 'the call carries no valid bearer token');
  return caller;
}

/**
 * A unary handler whose body sees its caller. `authenticate` resolves a token when no
 * authenticating interceptor recorded the principal (tests, or servers that check per call).
 */
export function unaryAsCaller<Req, Res>(
  handler: (request: Req, caller: Principal) => Res | Promise<Res>,
  authenticate?: Authenticator,
) {
  return (
    call: { request: Req; metadata: Metadata },
    callback: (error: Partial<StatusObject> | null, response?: Res) => void,
  ): void => {
    unaryHandler<Req, Res>((request) => handler(request, callerOf(call, authenticate)))(call, callback);
  };
}

/**
 * Throws GALAXY_E_PERMISSION_DENIED unless `caller` is an admin user (agents and pods never
 * are); `what` completes "only an admin may …". Every caller of an open server is an admin.
 */
export function requireAdmin(caller: Principal, what: string): void {
  if (!caller.admin || caller.kind !== 'user')
    throw new GalaxyError('GALAXY_E_PERMISSION_DENIED', `only an admin may ${what}; ${caller.user} is not one`);
}

/** A unary handler for admins only: the caller is checked (see {@link requireAdmin}) before `handler` runs. */
export function adminOnly<Req, Res>(what: string, handler: (request: Req, caller: Principal) => Res | Promise<Res>) {
  return unaryAsCaller<Req, Res>((request, caller) => {
    requireAdmin(caller, what);
    return handler(request, caller);
  });
}
