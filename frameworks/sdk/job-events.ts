/**
 * A job framework's own events for the master's event log (`galaxy events --job J`): a job
 * submitted, and how it ended. Batch and MapReduce publish them through {@link EventPublisher}; the
 * AppMaster has its richer set (`../appmaster/job-events.ts`). Their tasks' events come from the
 * master, each with the job's name (the task's `job` label).
 */
import type { PublishedEvent } from './event-publisher.js';

/** How a job ended. */
export type JobOutcome = 'succeeded' | 'failed' | 'cancelled';

/** A job as its events name it. */
export interface EventJob {
  readonly name: string;
  /** Its owner: whose event it is. */
  readonly owner: string;
}

/** `job` was submitted by `actor`; `message` says what it asks for. */
export function jobSubmitted(job: EventJob, actor: string, message: string): PublishedEvent {
  return { kind: 'job.submitted', job: job.name, user: job.owner, actor, message };
}

/** `job` ended with `outcome` in framework state `state` (ended by `actor`, else by the framework). */
export function jobEnded(
  job: EventJob,
  outcome: JobOutcome,
  details: { readonly actor: string; readonly state: string; readonly message: string },
): PublishedEvent {
  return { kind: `job.${outcome}`, job: job.name, user: job.owner, ...details };
}
