/**
 * Events frameworks publish (PUBLISH_EVENTS): what the AppMaster, batch and MapReduce did to jobs
 * and pods. Pure checks before anything is kept: a bounded batch of bounded strings, kinds of a
 * framework's own families (never the master's: agent, framework, task, preemption), and a `user`
 * the framework acts for — its owner, or anyone's for a framework that acts for users — so that no
 * framework can put an event into another user's view. The master stamps id, time, framework and
 * source; a call with one bad event keeps none.
 */
import { GalaxyError } from '../../core/errors.js';
import type { FrameworkEvent } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { NewEvent } from './log.js';

/** Events one PUBLISH_EVENTS call may carry. */
export const MAX_PUBLISHED_EVENTS = 500;
/** The longest name or id (kind, user, job, pod, agent, task, state). */
const MAX_NAME = 256;
/** The longest reason or message. */
const MAX_TEXT = 2048;
/** Kinds only the master records. */
const MASTER_FAMILIES = new Set(['agent', 'framework', 'task', 'preemption']);
/** A kind: dotted lowercase words, e.g. `job.rolled-back`. */
const KIND = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)+$/;

/** The publishing framework, as the master knows it. */
export interface Publisher {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  /** The user a task in `role` binds for this framework (see `core/tenancy/roles.ts`). */
  actingUser(role: string): string;
}

/**
 * The events to keep, or GALAXY_E_INVALID_ARGUMENT (malformed), GALAXY_E_LIMIT_EXCEEDED (too many)
 * or GALAXY_E_PERMISSION_DENIED (a user the framework does not act for).
 */
export function checkPublishedEvents(events: readonly FrameworkEvent[], publisher: Publisher): NewEvent[] {
  if (events.length > MAX_PUBLISHED_EVENTS)
    throw new GalaxyError(
      'GALAXY_E_LIMIT_EXCEEDED',
      `PUBLISH_EVENTS carries ${events.length} events; one call may carry at most ${MAX_PUBLISHED_EVENTS}: send them in batches`,
    );
  return events.map((event, i) => {
    const where = `event ${i} of PUBLISH_EVENTS`;
    for (const field of ['kind', 'user', 'actor', 'job', 'pod', 'agentId', 'taskId', 'state'] as const)
      if (event[field].length > MAX_NAME)
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where}: ${field} is longer than ${MAX_NAME} characters`);
    for (const field of ['reason', 'message'] as const)
      if (event[field].length > MAX_TEXT)
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where}: ${field} is longer than ${MAX_TEXT} characters`);
    const family = event.kind.split('.', 1)[0] ?? '';
    if (!KIND.test(event.kind) || MASTER_FAMILIES.has(family))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `${where}: kind "${event.kind.slice(0, 64)}" is not a framework's event kind (dotted lowercase words such as job.updated; agent.*, framework.*, task.* and preemption are the master's)`,
      );
    const user = event.user || publisher.owner;
    // actingUser(user) === user exactly when the framework may launch for that user (its owner, or
    // anyone's role for a framework acting for users).
    if (user !== publisher.owner && publisher.actingUser(user) !== user)
      throw new GalaxyError(
        'GALAXY_E_PERMISSION_DENIED',
        `${where}: framework ${publisher.name} does not act for user ${user.slice(0, 64)}; it publishes events of its owner's jobs only`,
      );
    return {
      kind: event.kind,
      user,
      actor: event.actor || publisher.owner,
      job: event.job,
      pod: event.pod,
      agentId: event.agentId,
      taskId: event.taskId,
      state: event.state,
      reason: event.reason,
      message: event.message,
      frameworkId: publisher.id,
      source: publisher.name,
    };
  });
}
