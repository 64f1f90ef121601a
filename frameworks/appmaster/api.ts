/**
 * The AppMaster's gRPC API: the user verbs (`galaxy job …`) and the pull API of its AppWorkers,
 * on one port.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { callerOf } from '../../core/auth/caller.js';
import type { Authenticator, Principal } from '../../core/auth/principal.js';
import { defaultAccess, type ServerAuth } from '../../core/auth/server.js';
import { GalaxyError } from '../../core/errors.js';
import { unaryHandler as grpcUnaryHandler } from '../../core/grpc-errors.js';
import { serveGrpc, type ServingApi } from '../../core/grpc-server.js';
import type { TlsFiles } from '../../core/tls.js';
import { notLeader } from '../../core/not-leader.js';
import {
  AppMasterService,
  AppWorkerPullService,
  type AppMasterServer,
  type AppWorkerPullServer,
  type ControlUpdateRequest,
  type ExecPodRequest,
  type ExecResult,
  type JobHistoryResponse,
  type JobPlan,
  type JobRequest,
  type JobStatus,
  type ListJobsRequest,
  type ListJobsResponse,
  type PodRequest,
  type PullRequest,
  type PullResponse,
  type ScaleJobRequest,
  type SubmitJobRequest,
  type UnblacklistRequest,
  type VolumesDestroyRequest,
  type VolumesInfo,
  type VolumesListRequest,
  type VolumesListResponse,
} from '../../proto/gen/galaxy/v1/appmaster.js';
import type { AppMaster } from './appmaster.js';
import { checkPullCaller, withPodTokens } from './pod-tokens.js';
import { watchJobHandler } from './job-watch.js';

/**
 * Who calls a standby with a token it does not know. A standby has not loaded the jobs, so it
 * cannot check a pod's pull token; it answers every call NOT_LEADER, naming the leader, which is
 * no secret (pods and users are given every AppMaster's address). Such a caller never reaches a
 * handler: once this AppMaster leads, its calls are refused as unauthenticated.
 */
const UNVERIFIED: Principal = Object.freeze({ user: '', admin: false, kind: 'user' as const });

/** The AppMaster's two services as handlers, and how their callers authenticate. */
export interface AppMasterHandlers {
  readonly auth: ServerAuth | undefined;
  /** `galaxy.v1.AppMaster`: the user verbs. */
  readonly verbs: AppMasterServer;
  /** `galaxy.v1.AppWorkerPull`: the pods' pulls. */
  readonly pull: AppWorkerPullServer;
}

/**
 * The handlers of both services of `appmaster`, for its gRPC server and its HTTP API alike. While
 * `standby()` returns a string (the leader's address, or '' when unknown) every call is refused
 * with GALAXY_E_NOT_LEADER naming the leader — also a call whose token only the leader knows (a
 * pod's), so that a worker can follow a standby to the leader. Each verb runs as the call's
 * principal ({@link principalOf}: the one the authenticating interceptor recorded, else the one
 * `authenticate` makes of its token, else the open server's admin; see `callerOf`).
 */
export function appMasterHandlers(
  appmaster: AppMaster,
  standby: () => string | undefined = () => undefined,
  authenticate?: Authenticator,
): AppMasterHandlers {
  // With an authenticator every call needs a token: users' for the verbs, a pod's own for its pulls.
  const known = authenticate && withPodTokens(authenticate, (sha256) => appmaster.podOfToken(sha256));
  const auth: ServerAuth | undefined = known && {
    authenticate: (token) => known(token) ?? (standby() === undefined ? undefined : UNVERIFIED),
    access: (service, principal) => principal === UNVERIFIED || defaultAccess(service, principal),
  };
  const unaryHandler =
    <Req, Res>(handler: (request: Req, caller: Principal) => Res | Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      grpcUnaryHandler<Req, Res>((request) => {
        const leader = standby();
        if (leader !== undefined) throw notLeader('AppMaster', leader);
        const caller = callerOf(call, authenticate);
        if (caller === UNVERIFIED)
          throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', 'the call carries an unknown or revoked token');
        return handler(request, caller);
      })(call, callback);
    };
  const verbs: AppMasterServer = {
    submitJob: unaryHandler<SubmitJobRequest, JobStatus>((r, caller) => appmaster.submit(r.specJson, caller)),
    updateJob: unaryHandler<SubmitJobRequest, JobStatus>((r, caller) =>
      appmaster.updateJob(r.specJson, caller, r.canary ?? 0),
    ),
    scaleJob: unaryHandler<ScaleJobRequest, JobStatus>((r, caller) => appmaster.scale(r.name, r.replicas, caller)),
    controlUpdate: unaryHandler<ControlUpdateRequest, JobStatus>((r, caller) =>
      appmaster.control(r.name, r.control, caller, r.toRevision),
    ),
    unblacklistJob: unaryHandler<UnblacklistRequest, JobStatus>((r, caller) =>
      appmaster.unblacklist(r.name, r.hostname, caller),
    ),
    planJob: unaryHandler<SubmitJobRequest, JobPlan>((r, caller) => appmaster.plan(r.specJson, caller)),
    jobHistory: unaryHandler<JobRequest, JobHistoryResponse>((r, caller) => appmaster.history(r.name, caller)),
    stopJob: unaryHandler<JobRequest, JobStatus>((r, caller) => appmaster.stop(r.name, caller)),
    removeJob: unaryHandler<JobRequest, JobStatus>((r, caller) => appmaster.remove(r.name, caller)),
    recoverPod: unaryHandler<PodRequest, JobStatus>((r, caller) => appmaster.recoverPod(r.name, r.podId, caller)),
    execPod: unaryHandler<ExecPodRequest, ExecResult>((r, caller) =>
      appmaster.exec(r.name, r.podId, r.command, r.timeoutS, caller),
    ),
    listJobs: unaryHandler<ListJobsRequest, ListJobsResponse>(async (_r, caller) => ({
      jobs: await appmaster.list(caller),
    })),
    showJob: unaryHandler<JobRequest, JobStatus>((r, caller) => appmaster.show(r.name, caller)),
    volumesList: unaryHandler<VolumesListRequest, VolumesListResponse>(async (r, caller) => ({
      volumes: await appmaster.volumes(r.job, caller),
    })),
    volumesDestroy: unaryHandler<VolumesDestroyRequest, VolumesInfo>((r, caller) =>
      appmaster.destroyVolume(r.job, r.podId, r.volume, r.force, caller),
    ),
    watchJob: watchJobHandler(appmaster, standby, authenticate, UNVERIFIED),
  };
  const pull: AppWorkerPullServer = {
    pull: unaryHandler<PullRequest, PullResponse>((r, caller) => {
      checkPullCaller(caller, r.job, r.podId);
      return appmaster.pull(r);
    }),
  };
  return { auth, verbs, pull };
}

/**
 * Serves both services of `appmaster` on `listen` (see {@link appMasterHandlers}). With `tls` it
 * serves TLS, asking clients for no certificate (see below).
 */
export function serveAppMasterApi(
  appmaster: AppMaster,
  listen: string,
  standby: () => string | undefined = () => undefined,
  authenticate?: Authenticator,
  tls?: TlsFiles,
): Promise<ServingApi> {
  const { auth, verbs, pull } = appMasterHandlers(appmaster, standby, authenticate);
  return serveGrpc(
    'AppMaster API',
    listen,
    (server) => {
      server.addService(AppMasterService, verbs);
      server.addService(AppWorkerPullService, pull);
    },
    auth,
    // AppWorkers hold no certificate (a pod holds no cluster secret): they verify this server with
    // its CA, and authenticate with their pod token; the server asks no client certificate.
    tls ? { tls: { ...tls, clientCertificates: 'none' } } : {},
  );
}
