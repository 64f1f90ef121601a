/**
 * The batch framework's gRPC API (`galaxy batch …` talks to it).
 */
import type { ServerAuth } from '../../core/auth/server.js';
import { unaryAsCaller } from '../../core/auth/caller.js';
import { serveGrpc, type ServingApi } from '../../core/grpc-server.js';
import type { TlsFiles } from '../../core/tls.js';
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

/**
 * Serves the Batch API on `listen` (TLS with `tls`); each verb runs as its caller. Resolves with
 * the bound address and a stop function.
 */
export function serveBatchApi(
  scheduler: BatchScheduler,
  listen: string,
  auth?: ServerAuth,
  tls?: TlsFiles,
): Promise<ServingApi> {
  return serveGrpc(
    'batch API',
    listen,
    (server) => {
      server.addService(BatchService, {
        submit: unaryAsCaller<BatchJobSpec, BatchJob>((spec, caller) => scheduler.submit(spec, caller)),
        list: unaryAsCaller<ListBatchJobsRequest, ListBatchJobsResponse>(async (_r, caller) => ({
          jobs: await scheduler.list(caller),
        })),
        show: unaryAsCaller<ShowBatchJobRequest, BatchJob>((request, caller) => scheduler.show(request.name, caller)),
        cancel: unaryAsCaller<CancelBatchJobRequest, BatchJob>((request, caller) =>
          scheduler.cancel(request.name, caller),
        ),
      });
    },
    auth,
    tls ? { tls } : {},
  );
}
