/**
 * A batch job's task as the master launches it, and where it may go: one completion index, run by
 * `/bin/sh -c` in the job owner's role, its band's, with the job's limits and volumes.
 */
import { bandOf } from '../../core/bands.js';
import { bindDenial } from '../../core/host-paths.js';
import { Volume_Kind, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import { userLabel } from '../sdk/tenancy.js';
import type { JobRecord } from './job.js';

/** The task of completion `index` of `job`, as `taskId` on `agentId`. */
export function batchTask(
  job: JobRecord,
  taskId: string,
  index: number,
  agentId: string,
  onRevocable = false,
): TaskInfo {
  return {
    taskId,
    name: `${job.spec.name}[${index}]`,
    agentId,
    resources: job.spec.resources,
    command: {
      shell: job.spec.command,
      argv: [],
      env: { GALAXY_COMPLETION_INDEX: String(index), GALAXY_JOB: job.spec.name },
      user: '',
    },
    labels: [{ key: 'band', value: job.spec.band }, { key: 'job', value: job.spec.name }, userLabel(job.owner)],
    band: bandOf(job.spec.band),
    // Best-effort work is the first to go when higher bands need room.
    revocable: job.spec.band === 'best-effort',
    // From a revocable offer: its agent may evict it when the regular tasks need the room back.
    ...(onRevocable ? { onRevocable: true } : {}),
    killGraceS: 3,
    limits: job.spec.limits,
    volumes: job.spec.volumes,
  };
}

/** True when `offer`'s agent allows every bind volume of `spec` (the master refuses the ACCEPT otherwise). */
export function bindsAllowed(spec: BatchJobSpec, offer: Offer): boolean {
  return spec.volumes.every(
    (v) => v.kind !== Volume_Kind.BIND || bindDenial(v.hostPath, v.readOnly, offer.allowedHostPaths) === undefined,
  );
}
