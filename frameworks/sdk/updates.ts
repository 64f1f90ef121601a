/**
 * UPDATES events (several status updates in one event, `scheduler.proto`), checked as input from
 * outside before any reaches the framework's handler: at most {@link MAX_UPDATES_PER_EVENT}
 * statuses, each naming this framework and a valid task id, with a uuid of at most
 * {@link MAX_UUID_LENGTH} characters. A status that fails is dropped (logged, not acknowledged: if
 * it was a real update it comes again); an event with too many is dropped whole.
 */
import { GalaxyError } from '../../core/errors.js';
import { checkId } from '../../core/validate.js';
import type { TaskStatus } from '../../proto/gen/galaxy/v1/common.js';

/** Statuses one UPDATES event may carry (the master sends at most 1,000: `master/frameworks/update-outbox.ts`). */
export const MAX_UPDATES_PER_EVENT = 1000;
/** Longest uuid of a status update (the agents and the master send 36-character UUIDs). */
export const MAX_UUID_LENGTH = 64;

/** Throws GALAXY_E_LIMIT_EXCEEDED when one UPDATES event carries more than {@link MAX_UPDATES_PER_EVENT}. */
export function checkUpdateCount(count: number): void {
  if (count > MAX_UPDATES_PER_EVENT)
    throw new GalaxyError(
      'GALAXY_E_LIMIT_EXCEEDED',
      `an UPDATES event carries ${count} statuses; at most ${MAX_UPDATES_PER_EVENT} are taken`,
    );
}

/**
 * Throws GALAXY_E_INVALID_ARGUMENT unless `status` is one of framework `frameworkId`'s, names a
 * valid task (and agent, if any), and carries a uuid of a sane length.
 */
export function checkUpdate(status: TaskStatus, frameworkId: string): void {
  if (status.frameworkId !== frameworkId)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `a status update of framework "${status.frameworkId.slice(0, 100)}" came to framework ${frameworkId}`,
    );
  checkId(status.taskId, 'task id');
  if (status.agentId !== '') checkId(status.agentId, 'agent id');
  if (status.uuid.length > MAX_UUID_LENGTH)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `the status update of task ${status.taskId} carries a uuid of ${status.uuid.length} characters; at most ${MAX_UUID_LENGTH}`,
    );
}

/**
 * The statuses of an UPDATES event that pass {@link checkUpdate}, in order; `refused` hears of each
 * one that does not. Throws (nothing is taken) when there are too many.
 */
export function checkedUpdates(
  statuses: readonly TaskStatus[],
  frameworkId: string,
  refused: (status: TaskStatus, error: GalaxyError) => void,
): TaskStatus[] {
  checkUpdateCount(statuses.length);
  return statuses.filter((status) => {
    try {
      checkUpdate(status, frameworkId);
      return true;
    } catch (error) {
      if (!(error instanceof GalaxyError)) throw error;
      refused(status, error);
      return false;
    }
  });
}
