/**
 * The authenticating gRPC server interceptor. Every call on a server built with an
 * {@link Authenticator} must carry `authorization: Bearer <token>`: a call without one, or with a
 * token no one holds, ends with UNAUTHENTICATED (`GALAXY_E_UNAUTHENTICATED`) before any handler
 * runs; a principal of a kind the service does not serve ends with PERMISSION_DENIED. The
 * principal is recorded on the call's metadata, where {@link principalOf} finds it.
 */
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { GalaxyError, isGalaxyError } from '../errors.js';
import { bearerToken, setPrincipal, type Authenticator, type Principal } from './principal.js';

/** The agent gateway: the one service agents call. */
export const AGENT_SERVICE = 'galaxy.v1.AgentGateway';
/** The AppWorkers' pull API: the one service pods call. */
export const POD_SERVICE = 'galaxy.v1.AppWorkerPull';

/** Whether `principal` may call `service` (its full name, e.g. `galaxy.v1.Operator`). */
export type ServiceAccess = (service: string, principal: Principal) => boolean;

/**
 * The default: an agent token reaches only the agent gateway, a pod token only the pull API, and
 * those two services serve no other users but admins. Users reach every other service (what they
 * may do there is each handler's decision).
 */
export const defaultAccess: ServiceAccess = (service, principal) => {
  if (principal.kind === 'agent') return service === AGENT_SERVICE;
  if (principal.kind === 'pod') return service === POD_SERVICE;
  if (service === AGENT_SERVICE || service === POD_SERVICE) return principal.admin;
  return true;
};

/** How a server authenticates. */
export interface ServerAuth {
  readonly authenticate: Authenticator;
  /** Default {@link defaultAccess}. */
  readonly access?: ServiceAccess;
}

/** The service name of a method path such as `/galaxy.v1.Operator/ListAgents`. */
export function serviceOf(path: string): string {
  return path.split('/')[1] ?? '';
}

/**
 * Services every caller reaches without a token: the standard gRPC health service (load
 * balancers' and `grpc_health_probe`'s checks) and server reflection (the schema `grpcurl` lists;
 * the same `.proto` files ship in the package). Neither reads or changes any of Galaxy's state.
 */
export const PUBLIC_SERVICES: ReadonlySet<string> = new Set([
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

/**
 * Who makes a call to `service` (its full name) with bearer `token`: the one decision of the gRPC
 * interceptor and the HTTP API (`core/http/`), so both refuse alike. Throws GALAXY_E_UNAUTHENTICATED
 * for no token or one no one holds (or a known token refused for a stated reason) and
 * GALAXY_E_PERMISSION_DENIED for a principal of a kind the service does not serve. `where` names
 * the call in the message (a method path, `GET /api/v1/agents`); never the token.
 */
export function authenticateCall(
  auth: ServerAuth,
  token: string | undefined,
  service: string,
  where: string,
): Principal {
  const principal = token === undefined ? undefined : auth.authenticate(token);
  if (!principal) {
    const why = token === undefined ? 'carries no bearer token' : 'carries an unknown or revoked token';
    throw new GalaxyError(
      'GALAXY_E_UNAUTHENTICATED',
      `the call to ${where} ${why}; pass --token, $GALAXY_TOKEN or $GALAXY_TOKEN_FILE (galaxy up writes .galaxy/admin.token)`,
    );
  }
  if (!(auth.access ?? defaultAccess)(service, principal))
    throw new GalaxyError('GALAXY_E_PERMISSION_DENIED', `${principal.kind} ${principal.user} may not call ${service}`);
  return principal;
}

/**
 * The interceptor: `new Server({ interceptors: [authInterceptor(auth)] })`. Never logs the
 * metadata; refusals name the method and the reason, never the token.
 */
export function authInterceptor(auth: ServerAuth): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata: Metadata, pass: (metadata: Metadata) => void) => {
            const service = serviceOf(method.path);
            if (PUBLIC_SERVICES.has(service)) {
              pass(metadata);
              return;
            }
            let principal: Principal;
            try {
              principal = authenticateCall(auth, bearerToken(metadata), service, method.path);
            } catch (error) {
              if (isGalaxyError(error, 'GALAXY_E_UNAUTHENTICATED'))
                call.sendStatus({ code: status.UNAUTHENTICATED, details: error.message, metadata: new Metadata() });
              else if (isGalaxyError(error, 'GALAXY_E_PERMISSION_DENIED'))
                call.sendStatus({ code: status.PERMISSION_DENIED, details: error.message, metadata: new Metadata() });
              else throw error;
              return;
            }
            setPrincipal(metadata, principal);
            pass(metadata);
          },
        });
      },
    });
}

/** The server options that make a server authenticate with `auth` (none: an open server). */
export function serverAuthOptions(auth: ServerAuth | undefined): { interceptors: ServerInterceptor[] } {
  return { interceptors: auth ? [authInterceptor(auth)] : [] };
}
