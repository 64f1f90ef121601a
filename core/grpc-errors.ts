/**
 * Maps {@link GalaxyError}s onto gRPC statuses and back, so a coded error raised in the master
 * reaches the CLI or a framework with its code intact.
 */
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { ErrorCodes, GalaxyError, parseGalaxyError, type ErrorCode } from './errors.js';

/** The gRPC status a code goes out as, as `core/errors.ts` declares it beside the code. */
export function grpcStatusOf(code: ErrorCode): status {
  return status[ErrorCodes[code].status];
}

/** Turns any thrown value into a gRPC status whose details start with the Galaxy code. */
export function toGrpcStatus(error: unknown): Partial<StatusObject> {
  const galaxy =
    error instanceof GalaxyError
      ? error
      : new GalaxyError('GALAXY_E_INTERNAL', error instanceof Error ? error.message : String(error));
  return { code: grpcStatusOf(galaxy.code), details: galaxy.message, metadata: new Metadata() };
}

/** Turns a gRPC client error back into a {@link GalaxyError}. */
export function fromGrpcError(error: ServiceError | Error, target = 'the master'): GalaxyError {
  const details = 'details' in error ? error.details : error.message;
  const parsed = parseGalaxyError(details);
  if (parsed) return parsed;
  if ('code' in error && (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED)) {
    return new GalaxyError(
      'GALAXY_E_UNAVAILABLE',
      `${target} cannot be reached: ${details.trim()} (is it running there? If it serves TLS: --tls-ca, and --tls-cert/--tls-key when it asks for client certificates)`,
    );
  }
  // A refusal from something other than a Galaxy handler (a proxy, another server) keeps its meaning.
  if ('code' in error && error.code === status.UNAUTHENTICATED)
    return new GalaxyError('GALAXY_E_UNAUTHENTICATED', `${target} refused the credentials: ${details}`);
  if ('code' in error && error.code === status.PERMISSION_DENIED)
    return new GalaxyError('GALAXY_E_PERMISSION_DENIED', `${target} refused the call: ${details}`);
  return new GalaxyError('GALAXY_E_INTERNAL', details);
}

/** Wraps a handler (sync or async) as a gRPC unary handler: a thrown coded error becomes its status. */
export function unaryHandler<Req, Res>(handler: (request: Req) => Res | Promise<Res>) {
  return (call: { request: Req }, callback: (error: Partial<StatusObject> | null, response?: Res) => void): void => {
    Promise.resolve()
      .then(() => handler(call.request))
      .then(
        (response) => {
          callback(null, response);
        },
        (error: unknown) => {
          callback(toGrpcStatus(error));
        },
      );
  };
}

/** Calls a generated client's unary method and turns its error into a {@link GalaxyError}. */
export function callUnary<Res>(
  target: string,
  invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((error, response) => {
      if (error) reject(fromGrpcError(error, target));
      else resolve(response);
    });
  });
}

/** `host:port` a server bound on `listen` is reached at (wildcard hosts become loopback). */
export function boundAddress(listen: string, port: number): string {
  const host = listen.slice(0, listen.lastIndexOf(':'));
  return `${host === '0.0.0.0' || host === '' ? '127.0.0.1' : host}:${port}`;
}
