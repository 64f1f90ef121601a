/**
 * The batch framework's gRPC API (`galaxy batch …` talks to it).
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { GalaxyError } from '../../core/errors.js';
import { toGrpcStatus } from '../../core/grpc-errors.js';
import {
  BatchService,
  type BatchJob,
  type BatchJobSpec,
  type CancelBatchJobRequest,
  type ListBatchJobsRequest,
  type ListBatchJobsResponse,
  type ShowBatchJobRequest,
} from '../../proto/gen/galaxy/v1/batch.js';
import type { BatchScheduler } from './scheduler.js';

function unary<Req, Res>(handler: (request: Req) => Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      callback(toGrpcStatus(error));
    }
  };
}

/** Serves the Batch API on `listen`; resolves with the bound address and a stop function. */
export async function serveBatchApi(
  scheduler: BatchScheduler,
  listen: string,
): Promise<{ address: string; stop: () => Promise<void> }> {
  const server = new Server();
  server.addService(BatchService, {
    submit: unary<BatchJobSpec, BatchJob>((spec) => scheduler.submit(spec)),
    list: unary<ListBatchJobsRequest, ListBatchJobsResponse>(() => ({ jobs: scheduler.list() })),
    show: unary<ShowBatchJobRequest, BatchJob>((request) => scheduler.show(request.name)),
    cancel: unary<CancelBatchJobRequest, BatchJob>((request) => scheduler.cancel(request.name)),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (error, bound) => {
      if (error)
        reject(new GalaxyError('GALAXY_E_UNAVAILABLE', `batch API cannot listen on ${listen}: ${error.message}`));
      else resolve(bound);
    });
  });
  const host = listen.slice(0, listen.lastIndexOf(':'));
  return {
    address: `${host === '0.0.0.0' || host === '' ? '127.0.0.1' : host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      }),
  };
}
