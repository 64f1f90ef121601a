/**
 * The batch framework's gRPC API (`galaxy batch …` talks to it).
 */
import { unaryHandler } from '../../core/grpc-errors.js';
import { serveGrpc, type ServingApi } from '../../core/grpc-server.js';
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
export function serveBatchApi(scheduler: BatchScheduler, listen: string): Promise<ServingApi> {
  return serveGrpc('batch API', listen, (server) => {
    server.addService(BatchService, {
      submit: unaryHandler<BatchJobSpec, BatchJob>((spec) => scheduler.submit(spec)),
      list: unaryHandler<ListBatchJobsRequest, ListBatchJobsResponse>(() => ({ jobs: scheduler.list() })),
      show: unaryHandler<ShowBatchJobRequest, BatchJob>((request) => scheduler.show(request.name)),
      cancel: unaryHandler<CancelBatchJobRequest, BatchJob>((request) => scheduler.cancel(request.name)),
    });
  });
}
