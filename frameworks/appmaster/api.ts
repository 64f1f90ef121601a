/**
 * The AppMaster's gRPC API: the user verbs (`galaxy job …`) and the pull API of its AppWorkers,
 * on one port.
 */
import { GalaxyError } from '../../core/errors.js';
import { unaryHandler as grpcUnaryHandler } from '../../core/grpc-errors.js';
import { serveGrpc, type ServingApi } from '../../core/grpc-server.js';
import {
  AppMasterService,
  AppWorkerPullService,
  type ControlUpdateRequest,
  type ExecPodRequest,
  type ExecResult,
  type JobRequest,
  type JobStatus,
  type ListJobsRequest,
  type ListJobsResponse,
  type PodRequest,
  type PullRequest,
  type PullResponse,
  type ScaleJobRequest,
  type SubmitJobRequest,
} from '../../proto/gen/galaxy/v1/appmaster.js';
import type { AppMaster } from './appmaster.js';

/**
 * Serves both services of `appmaster` on `listen`. While `standby()` returns a string (the
 * leader's address, or '' when unknown) every call is refused with GALAXY_E_NOT_LEADER.
 */
export function serveAppMasterApi(
  appmaster: AppMaster,
  listen: string,
  standby: () => string | undefined = () => undefined,
): Promise<ServingApi> {
  const unaryHandler = <Req, Res>(handler: (request: Req) => Res | Promise<Res>) =>
    grpcUnaryHandler<Req, Res>((request) => {
      const leader = standby();
      if (leader !== undefined)
        throw new GalaxyError(
          'GALAXY_E_NOT_LEADER',
          `this AppMaster is a standby; the leader is ${leader === '' ? 'not elected yet' : leader}`,
        );
      return handler(request);
    });
  return serveGrpc('AppMaster API', listen, (server) => {
    server.addService(AppMasterService, {
      submitJob: unaryHandler<SubmitJobRequest, JobStatus>((r) => appmaster.submit(r.specJson)),
      updateJob: unaryHandler<SubmitJobRequest, JobStatus>((r) => appmaster.updateJob(r.specJson)),
      scaleJob: unaryHandler<ScaleJobRequest, JobStatus>((r) => appmaster.scale(r.name, r.replicas)),
      controlUpdate: unaryHandler<ControlUpdateRequest, JobStatus>((r) => appmaster.control(r.name, r.control)),
      stopJob: unaryHandler<JobRequest, JobStatus>((r) => appmaster.stop(r.name)),
      removeJob: unaryHandler<JobRequest, JobStatus>((r) => appmaster.remove(r.name)),
      recoverPod: unaryHandler<PodRequest, JobStatus>((r) => appmaster.recoverPod(r.name, r.podId)),
      execPod: unaryHandler<ExecPodRequest, ExecResult>((r) => appmaster.exec(r.name, r.podId, r.command, r.timeoutS)),
      listJobs: unaryHandler<ListJobsRequest, ListJobsResponse>(() => ({ jobs: appmaster.list() })),
      showJob: unaryHandler<JobRequest, JobStatus>((r) => appmaster.show(r.name)),
    });
    server.addService(AppWorkerPullService, {
      pull: unaryHandler<PullRequest, PullResponse>((r) => appmaster.pull(r)),
    });
  });
}
