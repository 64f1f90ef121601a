/** Task states: which are terminal, which mean the task is gone, and their names. */
import { TaskState } from '../proto/gen/galaxy/v1/common.js';

export { TaskState };

const TERMINAL = new Set<TaskState>([
  TaskState.TASK_FINISHED,
  TaskState.TASK_FAILED,
  TaskState.TASK_KILLED,
  TaskState.TASK_ERROR,
  TaskState.TASK_LOST,
  TaskState.TASK_DROPPED,
  TaskState.TASK_GONE,
]);

/** True when a task in this state will never run again and its resources are free. */
export function isTerminal(state: TaskState): boolean {
  return TERMINAL.has(state);
}

/**
 * True when a framework should replace the task: it ended, or its agent is unreachable (it may
 * still run behind a partition; the master kills such stale copies when the agent returns).
 */
export function isGone(state: TaskState): boolean {
  return TERMINAL.has(state) || state === TaskState.TASK_UNREACHABLE;
}

/** The state's short name without the `TASK_` prefix, e.g. `RUNNING`. */
export function stateName(state: TaskState): string {
  const name = (TaskState as Record<number, string | undefined>)[state];
  return (name ?? 'UNKNOWN').replace(/^TASK_/, '');
}
