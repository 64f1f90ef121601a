/**
 * Ending pods' containers: a KILL sent through the driver (and sent again while the task lives,
 * see the reconcile tick), and retiring a pod that goes away with its container.
 */
import type { Logger } from '../../core/logger.js';
import { GalaxyError } from '../../core/errors.js';
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import type { JobBook } from './job-book.js';
import type { JobState } from './job-state.js';
import type { Pod } from './model.js';
import type { UnknownTasks } from './unknown-tasks.js';

/** What ending a container needs. */
export interface PodControlDeps {
  readonly book: JobBook;
  readonly log: Logger;
  now(): number;
  driver(): SchedulerDriver | undefined;
  /** Where a task the master says it has not goes, to be asked about. */
  readonly unknownTasks: UnknownTasks;
}

/** Kills and retires pods. */
export class PodControl {
  constructor(private readonly deps: PodControlDeps) {}

  /** Kills the pod's container on purpose (not a failure); the pod is placed again unless it is retiring. */
  kill(pod: Pod): void {
    pod.runtime.killing = true;
    this.sendKill(pod);
  }

  /** Sends (again) the KILL of the pod's container. */
  sendKill(pod: Pod): void {
    pod.runtime.killSentAt = this.deps.now();
    const { taskId, agentId } = pod.record;
    void this.deps
      .driver()
      ?.kill(taskId, agentId)
      .catch((error: unknown) => {
        // No live task of that id: never launched (an unanswered launch), or ended. Asked about,
        // the master says which; the pod is not left killing a task that is not there.
        if (error instanceof GalaxyError && error.code === 'GALAXY_E_TASK_UNKNOWN') {
          const { book, unknownTasks } = this.deps;
          if (book.podOfTask(taskId) && !unknownTasks.has(taskId)) unknownTasks.add(taskId, agentId);
          return;
        }
        this.deps.log.warn({ task: taskId, err: String(error) }, 'kill not sent; it is retried');
      });
  }

  /** Marks a pod to go away with its container (at once when it has none). */
  retire(job: JobState, pod: Pod): void {
    pod.runtime.removing = true;
    if (pod.record.taskId === '') job.dropPod(pod.record.podId);
    else this.kill(pod);
    this.deps.book.touch(job);
  }
}
