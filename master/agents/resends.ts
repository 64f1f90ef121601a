/**
 * An agent resends each status update until it is acknowledged, in order. These tell which
 * resends the master has applied already (issue 16: at the full cell resends outnumbered first
 * sends 4 to 1).
 */
import { isTerminal } from '../../core/task-state.js';
import { StatusSource, TaskState, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';

/** The order of an agent's non-terminal updates of one task. */
const PROGRESS: ReadonlyMap<TaskState, number> = new Map([
  [TaskState.TASK_STAGING, 0],
  [TaskState.TASK_STARTING, 1],
  [TaskState.TASK_RUNNING, 2],
  [TaskState.TASK_KILLING, 3],
]);

/**
 * True when `incoming` is an agent's resend of the update the task is at (the same uuid), or of an
 * earlier step of its progress (STARTING after RUNNING): the master has applied it already.
 */
export function isAppliedResend(current: TaskStatus | undefined, incoming: TaskStatus): boolean {
  if (current === undefined) return false;
  if (current.uuid === incoming.uuid) return true;
  if (current.source !== StatusSource.SOURCE_AGENT || incoming.source !== StatusSource.SOURCE_AGENT) return false;
  const now = PROGRESS.get(current.state);
  const then = PROGRESS.get(incoming.state);
  return now !== undefined && then !== undefined && then < now;
}

/**
 * True when `incoming` is a resend of an update older than the task's terminal `current` one: the
 * agent's stream is ordered and an agent never reports a task alive after its end.
 */
export function isStaleResend(current: TaskStatus | undefined, incoming: TaskStatus): boolean {
  return (
    current !== undefined &&
    current.source === StatusSource.SOURCE_AGENT &&
    incoming.source === StatusSource.SOURCE_AGENT &&
    isTerminal(current.state) &&
    !isTerminal(incoming.state)
  );
}
