/**
 * The MapReduce framework's job events (`../sdk/job-events.ts`): a job submitted, and how it
 * ended, with who did it.
 */
import { MapReduceJobState } from '../../proto/gen/galaxy/v1/mapreduce.js';
import type { PublishedEvent } from '../sdk/event-publisher.js';
import { jobEnded, jobSubmitted, type EventJob, type JobOutcome } from '../sdk/job-events.js';
import type { MapReduceRun } from './job.js';

const OUTCOMES: Partial<Record<MapReduceJobState, JobOutcome>> = {
  [MapReduceJobState.MAPREDUCE_SUCCEEDED]: 'succeeded',
  [MapReduceJobState.MAPREDUCE_FAILED]: 'failed',
  [MapReduceJobState.MAPREDUCE_CANCELLED]: 'cancelled',
};

/** `job` (owned by `owner`) was submitted by `actor`. */
export function submittedEvent(job: MapReduceRun, owner: string, actor: string): PublishedEvent {
  return jobSubmitted({ name: job.spec.name, owner }, actor, `${job.spec.maps} maps, ${job.spec.reduces} reduces`);
}

/** `job` ended (`actor`: who ended it, else the framework); undefined while it runs. */
export function endedEvent(job: MapReduceRun, owner: string, actor = 'mapreduce'): PublishedEvent | undefined {
  const outcome = OUTCOMES[job.state];
  if (outcome === undefined) return undefined;
  const named: EventJob = { name: job.spec.name, owner };
  return jobEnded(named, outcome, { actor, state: MapReduceJobState[job.state], message: job.message });
}
