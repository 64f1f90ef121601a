/**
 * Per-task sandbox directories: `<workDir>/sandboxes/<frameworkId>/<taskId>-<runId>/` holding the
 * task's `stdout` and `stderr`. Each run of a task gets its own, so a relaunch never mixes its
 * output with a previous run's.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkId } from '../core/validate.js';

/**
 * A fresh id for one run of a task: its start time (so runs sort) and random bits (so two runs
 * started in the same millisecond differ). It names both the sandbox and the container.
 */
export function newRunId(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Creates the sandbox of one run of a task and returns its path. */
export async function createSandbox(
  workDir: string,
  frameworkId: string,
  taskId: string,
  runId: string,
): Promise<string> {
  // Ids become path components: refuse separators and `..` before touching the disk.
  checkId(frameworkId, 'framework id', 'GALAXY_E_TASK_INVALID');
  checkId(taskId, 'task id', 'GALAXY_E_TASK_INVALID');
  checkId(runId, 'run id', 'GALAXY_E_TASK_INVALID');
  const path = join(workDir, 'sandboxes', frameworkId, `${taskId}-${runId}`);
  // Not recursive for the last step: an existing directory means a reused run id, which is a bug.
  // The framework's directory exists but for its first task: one mkdir per task, not two.
  try {
    await mkdir(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await mkdir(join(workDir, 'sandboxes', frameworkId), { recursive: true });
    await mkdir(path);
  }
  return path;
}
