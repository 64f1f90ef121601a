/**
 * Validation of a RunTask at the agent's boundary. The master checks launches too, but the agent
 * must not trust the wire: whatever is wrong here becomes a TASK_ERROR naming the field, never a
 * crash, a stray process or a path outside the sandbox root.
 */
import { Volume_Kind, type FrameworkInfo, type TaskInfo } from '../proto/gen/galaxy/v1/common.js';
import { diskVolumeDenial } from '../core/disks.js';
import { emptyResources } from '../core/resources.js';
import type { RunTask } from '../proto/gen/galaxy/v1/agent.js';
import { GalaxyError } from '../core/errors.js';
import { checkId } from '../core/validate.js';
import { parseCapabilities } from '../core/capabilities.js';
import { volumePathDenial } from '../core/host-paths.js';
import { imageDenial } from '../core/rootfs-image.js';

/** Longest SIGTERM → SIGKILL grace a task may ask for (s); longer would overflow Node's timers. */
export const MAX_KILL_GRACE_S = 3600;

/** Grace used when the task names none (s). */
export const DEFAULT_KILL_GRACE_S = 3;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const USER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$/;

function invalid(taskId: string, message: string): GalaxyError {
  return new GalaxyError('GALAXY_E_TASK_INVALID', `task "${taskId.slice(0, 60)}": ${message}`);
}

/** Throws when a string would be cut short by the kernel (exec takes C strings). */
function checkNoNul(taskId: string, value: string, what: string): void {
  if (value.includes('\0')) throw invalid(taskId, `${what} contains a NUL byte`);
}

/** The grace of a task in milliseconds: its `kill_grace_s`, or the default when it names none. */
export function killGraceMs(task: TaskInfo): number {
  return (task.killGraceS > 0 ? task.killGraceS : DEFAULT_KILL_GRACE_S) * 1000;
}

/**
 * Checks a RunTask and returns its framework and task. Throws `GALAXY_E_TASK_INVALID` with a
 * message naming the field otherwise.
 */
export function validateRunTask(run: RunTask): { framework: FrameworkInfo; task: TaskInfo } {
  const { framework, task } = run;
  const taskId = task?.taskId ?? '';
  if (!task) throw invalid(taskId, 'the RunTask carries no task');
  checkId(task.taskId, 'task id', 'GALAXY_E_TASK_INVALID');
  if (!framework) throw invalid(taskId, 'the RunTask carries no framework');
  checkId(framework.id, 'framework id', 'GALAXY_E_TASK_INVALID');

  const command = task.command;
  if (!command || (command.shell.trim() === '' && command.argv.length === 0))
    throw invalid(taskId, 'the task has no command (set command.shell or command.argv)');
  if (command.shell.trim() === '' && command.argv[0]?.trim() === '')
    throw invalid(taskId, 'command.argv[0] (the program) is empty');
  checkNoNul(taskId, command.shell, 'command.shell');
  command.argv.forEach((arg, i) => {
    checkNoNul(taskId, arg, `command.argv[${i}]`);
  });
  for (const [name, value] of Object.entries(command.env)) {
    if (!ENV_NAME.test(name)) throw invalid(taskId, `command.env name "${name.slice(0, 60)}" is not a variable name`);
    checkNoNul(taskId, value, `command.env.${name}`);
  }
  if (command.user !== '' && !USER_NAME.test(command.user))
    throw invalid(taskId, `command.user "${command.user.slice(0, 60)}" is not a user name`);

  if (!Number.isFinite(task.killGraceS) || task.killGraceS < 0 || task.killGraceS > MAX_KILL_GRACE_S)
    throw invalid(taskId, `kill_grace_s ${task.killGraceS} is not between 0 and ${MAX_KILL_GRACE_S}`);

  for (const range of task.resources?.ports ?? []) {
    if (range.begin > range.end || range.end > 65535)
      throw invalid(taskId, `port range [${range.begin}-${range.end}] is not within 0-65535 in order`);
  }
  // Where volumes go (their host paths are checked on real paths when the container is made).
  task.volumes.forEach((volume, i) => {
    const denied = volumePathDenial(volume.path);
    if (denied !== undefined) throw invalid(taskId, `volumes[${i}]: ${denied}`);
  });
  // Disk volumes only as big as the disk shares the master allocated (docs/disks.md).
  const disks = task.volumes.filter((v) => v.kind === Volume_Kind.DISK);
  const diskDenied = diskVolumeDenial(disks, task.resources ?? emptyResources());
  if (diskDenied !== undefined) throw invalid(taskId, diskDenied);
  const image = task.container?.rootfs;
  const imageDenied = image ? imageDenial(image) : undefined;
  if (imageDenied !== undefined) throw invalid(taskId, `container.rootfs: ${imageDenied}`);
  try {
    parseCapabilities(task.container?.capabilities ?? [], 'container.capabilities');
  } catch (error) {
    throw invalid(taskId, error instanceof GalaxyError ? error.detail : String(error));
  }
  return { framework, task };
}
