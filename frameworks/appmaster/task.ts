/**
 * The task (container) the AppMaster launches for a pod: its resources, limits and volumes from
 * the pod's revision, and the AppWorker as its first process.
 */
import { randomBytes } from 'node:crypto';
import type { TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { Assignment } from './placement/place.js';
import { userLabel } from '../sdk/tenancy.js';
import { bandOf } from '../../core/bands.js';
import { podLimits, podVolumes } from './placement/resources.js';
import type { JobSpec } from './spec/schema.js';

/**
 * How the AppWorker is started and where it reaches the AppMaster. A pod is given nothing else:
 * no coordinator address, no credential but its own pull token (docs/security.md, "No cluster
 * secrets in a pod").
 */
export interface WorkerLaunch {
  /** argv of `galaxy appworker` on the agent's host. */
  readonly argv: readonly string[];
  /**
   * `host:port` of every AppMaster's pull API as the container sees it, the leader first
   * (`GALAXY_APPMASTERS`): the worker finds the leader among them, following standbys' NOT_LEADER.
   */
  readonly appmasters: readonly string[];
  /** The pod's own pull token (`GALAXY_POD_TOKEN`); the AppMaster keeps only its hash. */
  readonly podToken?: string;
  /** PEM of the CA the AppMaster's TLS certificate is signed by (`GALAXY_APPMASTER_CA`); none: plaintext. */
  readonly ca?: string;
}

/** A fresh task id for a pod: the pod id and a random suffix, so a replaced container never reuses one. */
export function newTaskId(podId: string): string {
  return `${podId}.${randomBytes(3).toString('hex')}`;
}

/** The TaskInfo of `podId` placed by `assignment`, labelled with the job's `owner` (`galaxy.user`). */
export function podTask(
  job: string,
  podId: string,
  taskId: string,
  spec: JobSpec,
  assignment: Assignment,
  worker: WorkerLaunch,
  owner: string,
  jobUid?: string,
): TaskInfo {
  return {
    taskId,
    name: `${job}/${podId}`,
    agentId: assignment.agentId,
    resources: assignment.resources,
    command: {
      shell: '',
      argv: [...worker.argv],
      env: {
        GALAXY_APPMASTERS: worker.appmasters.join(','),
        GALAXY_JOB: job,
        GALAXY_POD_ID: podId,
        ...(worker.podToken ? { GALAXY_POD_TOKEN: worker.podToken } : {}),
        ...(worker.ca ? { GALAXY_APPMASTER_CA: worker.ca } : {}),
      },
      // '' (the default): the container's own unprivileged root; authorized at submit and ACCEPT.
      user: spec.container?.user ?? '',
    },
    container: { capabilities: spec.container?.capabilities ?? [], rootfs: spec.container?.rootfs },
    labels: [
      { key: 'band', value: spec.band },
      { key: 'job', value: job },
      { key: 'pod', value: podId },
      userLabel(owner),
    ],
    band: bandOf(spec.band),
    killGraceS: spec.deploy.stopTimeoutS + 5,
    limits: podLimits(spec),
    volumes: podVolumes(spec, podId, assignment.resources, jobUid),
  };
}
