/**
 * The batch framework's events for the master's event log (`galaxy events --job J`): a job
 * submitted, and how it ended (succeeded, failed, cancelled), with who did it and the job's counts.
 * Its tasks' events come from the master, each with the job's name (the task's `job` label).
 */
import { BatchJobState } from '../../proto/gen/galaxy/v1/batch.js';
import type { PublishedEvent } from '../sdk/event-publisher.js';
import type { JobRecord } from './job.js';

/** The event kind of a job's end state; undefined while it has not ended. */
export function endKind(state: BatchJobState): string | undefined {
  switch (state) {
    case BatchJobState.BATCH_SUCCEEDED:
      return 'job.succeeded';
    case BatchJobState.BATCH_FAILED:
      return 'job.failed';
    case BatchJobState.BATCH_CANCELLED:
      return 'job.cancelled';
    default:
      return undefined;
  }
}

/** `job` was submitted by `actor`. */
export function submittedEvent(job: JobRecord, actor: string): PublishedEvent {
  return {
    kind: 'job.submitted',
    job: job.spec.name,
    user: job.owner,
    actor,
    message: `${job.spec.completions} completions, ${job.spec.parallelism} at once`,
  };
}

/** `job` ended (`actor`: who ended it, else the framework); undefined while it runs. */
export function endedEvent(job: JobRecord, actor = 'batch'): PublishedEvent | undefined {
  const kind = endKind(job.state);
  if (kind === undefined) return undefined;
  const counts = `${job.succeeded.size} succeeded, ${job.failed.size} failed, ${job.retried} retried`;
  return {
    kind,
    job: job.spec.name,
    user: job.owner,
    actor,
    state: BatchJobState[job.state],
    message: job.message ? `${job.message}; ${counts}` : counts,
  };
}
