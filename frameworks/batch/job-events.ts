/**
 * The batch framework's job events (`../sdk/job-events.ts`): a job submitted, and how it ended,
 * with who did it and the job's counts.
 */
import { BatchJobState } from '../../proto/gen/galaxy/v1/batch.js';
import type { PublishedEvent } from '../sdk/event-publisher.js';
import { jobEnded, jobSubmitted, type JobOutcome } from '../sdk/job-events.js';
import type { JobRecord } from './job.js';

const OUTCOMES: Partial<Record<BatchJobState, JobOutcome>> = {
  [BatchJobState.BATCH_SUCCEEDED]: 'succeeded',
  [BatchJobState.BATCH_FAILED]: 'failed',
  [BatchJobState.BATCH_CANCELLED]: 'cancelled',
};

/** `job` was submitted by `actor`. */
export function submittedEvent(job: JobRecord, actor: string): PublishedEvent {
  const what = `${job.spec.completions} completions, ${job.spec.parallelism} at once`;
  return jobSubmitted({ name: job.spec.name, owner: job.owner }, actor, what);
}

/** `job` ended (`actor`: who ended it, else the framework); undefined while it runs. */
export function endedEvent(job: JobRecord, actor = 'batch'): PublishedEvent | undefined {
  const outcome = OUTCOMES[job.state];
  if (outcome === undefined) return undefined;
  const counts = `${job.succeeded.size} succeeded, ${job.failed.size} failed, ${job.retried} retried`;
  return jobEnded({ name: job.spec.name, owner: job.owner }, outcome, {
    actor,
    state: BatchJobState[job.state],
    message: job.message ? `${job.message}; ${counts}` : counts,
  });
}
