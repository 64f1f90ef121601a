/**
 * The batch framework's gRPC API (`galaxy batch …` talks to it).
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { GalaxyError } from '../../core/errors.js';
import { boundAddress, unaryHandler } from '../../core/grpc-errors.js';
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

/** Serves the Batch API on `listen`; resolves with the bound address and a stop function. */
export async function serveBatchApi(
  scheduler: BatchScheduler,
  listen: string,
): Promise<{ address: string; stop: () => Promise<void> }> {
  const server = new Server();
  server.addService(BatchService, {
    submit: unaryHandler<BatchJobSpec, BatchJob>((spec) => scheduler.submit(spec)),
    list: unaryHandler<ListBatchJobsRequest, ListBatchJobsResponse>(() => ({ jobs: scheduler.list() })),
    show: unaryHandler<ShowBatchJobRequest, BatchJob>((request) => scheduler.show(request.name)),
    cancel: unaryHandler<CancelBatchJobRequest, BatchJob>((request) => scheduler.cancel(request.name)),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (error, bound) => {
      if (error)
        reject(new GalaxyError('GALAXY_E_UNAVAILABLE', `batch API cannot listen on ${listen}: ${error.message}`));
      else resolve(bound);
    });
  });
  return {
    address: boundAddress(listen, port),
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      }),
  };
}
