/**
 * Coded errors over HTTP: a {@link GalaxyError} becomes the HTTP status its gRPC status maps to
 * (the mapping grpc-gateway and Google's APIs use) and a JSON body `{ code, message, hint }`, so
 * a script sees the same code as the CLI does.
 */
import { ErrorCodes, GalaxyError, type ErrorCode, type GrpcStatusName } from '../errors.js';

const HTTP_OF_GRPC: Readonly<Record<GrpcStatusName, number>> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** The HTTP status of an error code. */
export function httpStatusOf(code: ErrorCode): number {
  return HTTP_OF_GRPC[ErrorCodes[code].status];
}

/** The JSON body of an error reply. */
export interface HttpErrorBody {
  readonly code: ErrorCode;
  /** `GALAXY_E_X: what went wrong`, as the CLI prints it. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

/** The body of `error`'s reply. */
export function errorBody(error: GalaxyError): HttpErrorBody {
  return { code: error.code, message: error.message, hint: ErrorCodes[error.code].hint };
}
