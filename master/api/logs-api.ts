/**
 * gRPC adapter of the Logs service (`galaxy logs`, `galaxy task logs`) on the master's
 * {@link LogReader} (`master/logs/log-reader.ts`: who may read, the bounds, the pulling).
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { principalOf } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { toGrpcStatus } from '../../core/grpc-errors.js';
import type { LogChunk, LogsServer, ReadLogsRequest } from '../../proto/gen/galaxy/v1/logs.js';
import type { LogReader } from '../logs/log-reader.js';

/** Builds the Logs implementation. */
export function logsApi(reader: LogReader): LogsServer {
  return {
    read(call: ServerWritableStream<ReadLogsRequest, LogChunk>): void {
      let cancelled = false;
      call.on('cancelled', () => {
        cancelled = true;
      });
      const fail = (error: unknown): void => {
        if (cancelled) return;
        const status = toGrpcStatus(error);
        call.emit('error', Object.assign(new Error(status.details), status));
      };
      try {
        const caller = principalOf(call);
        if (!caller) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', 'the call carries no bearer token');
        reader
          .start(caller, call.request, {
            // Resolves once the caller's side has taken the chunk (no buffering for slow readers).
            write: (chunk) =>
              new Promise((resolve) => {
                call.write(chunk, () => {
                  resolve();
                });
              }),
            cancelled: () => cancelled,
          })
          .then(() => {
            if (!cancelled) call.end();
          }, fail);
      } catch (error) {
        fail(error);
      }
    },
  };
}
