/**
 * The AppMaster's events for the master's event log (`galaxy events --job J`): each verb a user
 * ran (submitted, updated, scaled, paused, continued, rolled back, cancelled, stopped, removed,
 * pod replaced) with who ran it, each refusal for quota with what was asked, and what the
 * AppMaster did on its own (automatic rollbacks, finished updates, replaced pods, blacklisted
 * hosts). Published through the SDK's {@link EventPublisher}, in batches.
 */
import type { Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { UpdateControl } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { EventPublisher, PublishedEvent } from '../sdk/event-publisher.js';

/** The event kind of an update control. */
export function controlKind(control: UpdateControl): string {
  switch (control) {
    case UpdateControl.UPDATE_PAUSE:
      return 'job.paused';
    case UpdateControl.UPDATE_CONTINUE:
      return 'job.continued';
    case UpdateControl.UPDATE_ROLLBACK:
      return 'job.rolled-back';
    case UpdateControl.UPDATE_CANCEL:
      return 'job.cancelled';
    case UpdateControl.UPDATE_PROMOTE:
      return 'job.promoted';
    case UpdateControl.UPDATE_ABORT:
      return 'job.aborted';
    default:
      return 'job.controlled';
  }
}

/** A verb to record: its event, and how to find the job's owner once it ran. */
export interface RecordedVerb {
  readonly event: PublishedEvent;
  /** The job's owner (looked up before the verb, for one that removes the job). */
  readonly owner: () => string | undefined;
}

/**
 * Runs a verb and publishes its event with the caller as actor once it succeeded; a refusal for
 * quota is published as `quota.refused` (to the caller, whose quota it is). Other refusals change
 * nothing and are not events.
 */
export async function recordVerb<T>(
  events: EventPublisher,
  caller: Principal,
  verb: RecordedVerb,
  run: () => Promise<T>,
): Promise<T> {
  const ownerBefore = verb.owner();
  try {
    const result = await run();
    events.publish({ ...verb.event, user: verb.owner() ?? ownerBefore ?? caller.user, actor: caller.user });
    return result;
  } catch (error) {
    if (error instanceof GalaxyError && error.code === 'GALAXY_E_QUOTA_EXCEEDED')
      events.publish({
        kind: 'quota.refused',
        job: verb.event.job ?? '',
        user: ownerBefore ?? caller.user,
        actor: caller.user,
        reason: verb.event.kind,
        message: error.message,
      });
    throw error;
  }
}

/** The job name a spec names (for the event of a verb that may refuse it), or ''. */
export function jobNameOf(specJson: string): string {
  try {
    const name: unknown = (JSON.parse(specJson) as { name?: unknown }).name;
    return typeof name === 'string' ? name.slice(0, 256) : '';
  } catch {
    return '';
  }
}
