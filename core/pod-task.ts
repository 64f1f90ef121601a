/**
 * Which task a `<pod>` argument of a job names, for reading its output (`galaxy logs <job> <pod>`
 * and the HTTP API's pod log route): the pod's id (`web-3`) or its index (`3`).
 */
import { GalaxyError } from './errors.js';
import type { JobStatus } from '../proto/gen/galaxy/v1/appmaster.js';

/** The task of pod `pod` of `status`; a coded error names the job's pods, or why the pod has no task. */
export function taskOfPod(status: JobStatus, pod: string): string {
  const found = status.pods.find((p) => p.podId === pod || String(p.index) === pod);
  if (!found)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `job ${status.name} has no pod "${pod}"; its pods are ${status.pods.map((p) => p.podId).join(', ') || '(none)'}`,
    );
  if (found.taskId === '')
    throw new GalaxyError(
      'GALAXY_E_LOGS_UNAVAILABLE',
      `pod ${found.podId} has no container yet (it is ${found.phase})`,
    );
  return found.taskId;
}
