/**
 * `WatchJob` (`galaxy job show --watch`): ShowJob as the caller may see it, pushed again each time
 * the job or one of its pods changes (a pull's report, a tick, a pod's end), until the job is gone
 * (the stream ends with ShowJob's error) or the caller cancels. Pull times alone are no change.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { callerOf } from '../../core/auth/caller.js';
import type { Authenticator } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { toGrpcStatus } from '../../core/grpc-errors.js';
import { notLeader } from '../../core/not-leader.js';
import { ChangeListeners, serveWatch } from '../../core/watch-stream.js';
import { JobStatus, type JobRequest } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { AppMaster } from './appmaster.js';

/** The WatchJob handler of `appmaster`, refusing like the unary verbs while it stands by. */
export function watchJobHandler(
  appmaster: AppMaster,
  standby: () => string | undefined,
  authenticate: Authenticator | undefined,
  unverified: object,
): (call: ServerWritableStream<JobRequest, JobStatus>) => void {
  const changes = new ChangeListeners();
  const changed = (): void => {
    changes.changed();
  };
  appmaster.hooks.jobChanged.tap('job-watch', changed);
  appmaster.hooks.podReported.tap('job-watch', changed);
  appmaster.hooks.podEnded.tap('job-watch', changed);
  appmaster.hooks.reconciled.tap('job-watch', changed);
  return (call) => {
    try {
      const leader = standby();
      if (leader !== undefined) throw notLeader('AppMaster', leader);
      const caller = callerOf(call, authenticate);
      if (caller === unverified)
        throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', 'the call carries an unknown or revoked token');
      serveWatch(call, {
        snapshot: () => appmaster.show(call.request.name, caller),
        encode: (job) => JobStatus.encode({ ...job, pods: job.pods.map((p) => ({ ...p, updatedAt: 0 })) }).finish(),
        changes,
      });
    } catch (error) {
      const status = toGrpcStatus(error);
      call.emit('error', Object.assign(new Error(status.details), status));
    }
  };
}
