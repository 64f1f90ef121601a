/**
 * Usage reports: what the launcher's isolators measure of a container, in the wire form.
 */
import { ResourceUsage, type TaskUsage } from '../proto/gen/galaxy/v1/common.js';
import type { ContainerUsage } from '../isolators/isolator.js';
import { isTerminal } from '../core/task-state.js';
import type { Launcher } from './launcher.js';
import type { TaskRunner } from './task-runner.js';

/** Isolator usage in the wire form; figures an isolator does not measure are 0. */
export function toResourceUsage(u: ContainerUsage): ResourceUsage {
  return ResourceUsage.create(u);
}

/**
 * Usage of every live task, as the launcher measures it; a task it cannot measure (plain
 * processes, or a container that just ended) is reported with zeros rather than left out.
 */
export async function collectUsage(
  launcher: Launcher,
  agentId: string,
  runners: Iterable<TaskRunner>,
): Promise<TaskUsage[]> {
  const tasks: TaskUsage[] = [];
  for (const runner of runners) {
    if (isTerminal(runner.state)) continue;
    const usage = await launcher.usage?.(runner.containerId).catch(() => undefined);
    tasks.push({
      frameworkId: runner.framework.id,
      taskId: runner.info.taskId,
      agentId,
      usage: toResourceUsage(usage ?? {}),
    });
  }
  return tasks;
}
