/**
 * Which task a `galaxy logs` caller means, among those they may read: the tasks `galaxy tasks`
 * shows them (docs/security.md, "Logs"). Pure: the master passes its live and completed tasks.
 */
import { GalaxyError } from '../../core/errors.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';

/**
 * The one task of id `taskId` (of `frameworkId` when given) that `visible` lets the caller see.
 * A task the caller may not see is reported exactly as one that does not exist, so the refusal
 * tells nothing of other users' tasks.
 */
export function readableTask(
  tasks: Iterable<Task>,
  taskId: string,
  frameworkId: string,
  visible: (task: Task) => boolean,
  caller: string,
): Task {
  const found = new Map<string, Task>();
  for (const task of tasks) {
    if (task.taskId !== taskId || (frameworkId !== '' && task.frameworkId !== frameworkId)) continue;
    if (!visible(task)) continue;
    // Live tasks come first: a relaunched id's live record wins over a completed one.
    if (!found.has(task.frameworkId)) found.set(task.frameworkId, task);
  }
  const matches = [...found.values()];
  if (matches.length === 0)
    throw new GalaxyError(
      'GALAXY_E_TASK_UNKNOWN',
      `no task "${taskId.slice(0, 200)}"${frameworkId === '' ? '' : ` of framework ${frameworkId.slice(0, 100)}`} whose output ${caller} may read (galaxy tasks lists them)`,
    );
  if (matches.length > 1)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `task id "${taskId}" is in frameworks ${matches.map((t) => t.frameworkId).join(', ')}: name one with --framework`,
    );
  return matches[0] as Task;
}
