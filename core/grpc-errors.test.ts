/**
 * Every coded error goes out over gRPC with the status declared beside it in `core/errors.ts`,
 * never INTERNAL unless it is one, and comes back with its code.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, GalaxyError, type ErrorCode } from './errors.js';
import { fromGrpcError, grpcStatusOf, toGrpcStatus } from './grpc-errors.js';

const codes = Object.keys(ErrorCodes) as ErrorCode[];

describe('gRPC statuses of error codes', () => {
  it('maps every code but GALAXY_E_INTERNAL to a status other than INTERNAL, UNKNOWN or OK', () => {
    const internal = codes.filter((code) => [status.INTERNAL, status.UNKNOWN, status.OK].includes(grpcStatusOf(code)));
    expect(internal).toEqual(['GALAXY_E_INTERNAL']);
  });

  it('sends the codes that used to go out as INTERNAL with their own status', () => {
    expect(grpcStatusOf('GALAXY_E_POOL_UNKNOWN')).toBe(status.NOT_FOUND);
    expect(grpcStatusOf('GALAXY_E_POOL_DUPLICATE')).toBe(status.ALREADY_EXISTS);
    expect(grpcStatusOf('GALAXY_E_FRAMEWORK_DUPLICATE')).toBe(status.ALREADY_EXISTS);
    expect(grpcStatusOf('GALAXY_E_POOL_IN_USE')).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf('GALAXY_E_HOST_PATH_DENIED')).toBe(status.PERMISSION_DENIED);
    expect(grpcStatusOf('GALAXY_E_RESERVATION_INVALID')).toBe(status.INVALID_ARGUMENT);
    expect(grpcStatusOf('GALAXY_E_CGROUP_UNSUPPORTED')).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf('GALAXY_E_LAUNCH_FAILED')).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf('GALAXY_E_PLUGIN_LOAD')).toBe(status.FAILED_PRECONDITION);
    expect(grpcStatusOf('GALAXY_E_PLUGIN_INCOMPATIBLE')).toBe(status.FAILED_PRECONDITION);
  });

  it('round-trips every code through a gRPC status, and an uncoded throw goes out as INTERNAL', () => {
    for (const code of codes) {
      const sent = toGrpcStatus(new GalaxyError(code, `something about ${code}`));
      expect(sent.code).toBe(grpcStatusOf(code));
      const received = Object.assign(new Error(sent.details), {
        code: sent.code ?? status.UNKNOWN,
        details: sent.details ?? '',
        metadata: new Metadata(),
      }) satisfies ServiceError;
      const back = fromGrpcError(received);
      expect(back.code).toBe(code);
      expect(back.detail).toBe(`something about ${code}`);
    }
    expect(toGrpcStatus(new TypeError('x is undefined'))).toMatchObject({
      code: status.INTERNAL,
      details: 'GALAXY_E_INTERNAL: x is undefined',
    });
  });
});
