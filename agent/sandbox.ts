/**
 * Per-task sandbox directories: `<workDir>/sandboxes/<frameworkId>/<taskId>-<run>/` holding the
 * task's `stdout` and `stderr`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkId } from '../core/validate.js';

/** Creates a fresh sandbox for one run of a task and returns its path. */
export async function createSandbox(workDir: string, frameworkId: string, taskId: string): Promise<string> {
  // Ids become path components: refuse separators and `..` before touching the disk.
  checkId(frameworkId, 'framework id', 'GALAXY_E_TASK_INVALID');
  checkId(taskId, 'task id', 'GALAXY_E_TASK_INVALID');
  const path = join(workDir, 'sandboxes', frameworkId, `${taskId}-${Date.now().toString(36)}`);
  await mkdir(path, { recursive: true });
  return path;
}
