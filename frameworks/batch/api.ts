/**
 * The batch framework's gRPC API (`galaxy batch …` talks to it): batch jobs and cron jobs.
 */
import type { ServerAuth } from '../../core/auth/server.js';
import { unaryAsCaller } from '../../core/auth/caller.js';
import type { Principal } from '../../core/auth/principal.js';
import { serveGrpc, type ServingApi } from '../../core/grpc-server.js';
import type { TlsFiles } from '../../core/tls.js';
import {
  BatchJobSpec,
  BatchService,
  CronSchedule,
  type BatchJob,
  type CancelBatchJobRequest,
  type CreateCronRequest,
  type CronJob,
  type CronRequest,
  type ListBatchJobsRequest,
  type ListBatchJobsResponse,
  type ListCronsRequest,
  type ListCronsResponse,
  type ShowBatchJobRequest,
  type SuspendCronRequest,
} from '../../proto/gen/galaxy/v1/batch.js';
import { leaderOnly } from '../sdk/leadership.js';
import type { CronRunner } from './cron/runner.js';
import type { BatchScheduler } from './scheduler.js';

/** What the API serves. */
export interface BatchApiTargets {
  readonly scheduler: BatchScheduler;
  readonly crons: CronRunner;
  /**
   * While this framework stands by: the leader's address ('' while none is elected); undefined
   * once it leads. A standby answers every verb with GALAXY_E_NOT_LEADER naming the leader.
   */
  readonly standby?: () => string | undefined;
}

/**
 * Serves the Batch API on `listen` (TLS with `tls`); each verb runs as its caller (authenticated
 * first: a standby tells only callers with a valid token where the leader is). Resolves with the
 * bound address and a stop function.
 */
export function serveBatchApi(
  targets: BatchApiTargets,
  listen: string,
  auth?: ServerAuth,
  tls?: TlsFiles,
): Promise<ServingApi> {
  const { scheduler, crons } = targets;
  const leading = leaderOnly('batch framework', targets.standby);
  const verb = <Req, Res>(handler: (request: Req, caller: Principal) => Res | Promise<Res>) =>
    unaryAsCaller<Req, Res>(leading(handler));
  return serveGrpc(
    'batch API',
    listen,
    (server) => {
      server.addService(BatchService, {
        submit: verb<BatchJobSpec, BatchJob>((spec, caller) => scheduler.submit(spec, caller)),
        list: verb<ListBatchJobsRequest, ListBatchJobsResponse>(async (_r, caller) => ({
          jobs: await scheduler.list(caller),
        })),
        show: verb<ShowBatchJobRequest, BatchJob>((request, caller) => scheduler.show(request.name, caller)),
        cancel: verb<CancelBatchJobRequest, BatchJob>((request, caller) => scheduler.cancel(request.name, caller)),
        createCron: verb<CreateCronRequest, CronJob>((request, caller) =>
          crons.create(
            request.spec ?? BatchJobSpec.fromPartial({}),
            request.schedule ?? CronSchedule.fromPartial({}),
            caller,
          ),
        ),
        listCrons: verb<ListCronsRequest, ListCronsResponse>(async (_r, caller) => ({
          crons: await crons.list(caller),
        })),
        showCron: verb<CronRequest, CronJob>((request, caller) => crons.show(request.name, caller)),
        deleteCron: verb<CronRequest, CronJob>((request, caller) => crons.delete(request.name, caller)),
        suspendCron: verb<SuspendCronRequest, CronJob>((request, caller) =>
          crons.suspend(request.name, request.suspend, caller),
        ),
      });
    },
    auth,
    tls ? { tls } : {},
  );
}
