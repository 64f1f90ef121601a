/**
 * How an agent's status updates travel in batches (issue 14): the agent writes the updates it has
 * at a time as one `statusUpdates` message (one update alone stays a `statusUpdate`, which every
 * master and the simulator's agents speak), and a master takes at most
 * {@link MAX_STATUS_UPDATES_PER_MESSAGE} per message. Shared by both sides so they agree.
 */
import { GalaxyError } from './errors.js';
import type { AgentMessage } from '../proto/gen/galaxy/v1/agent.js';
import type { TaskStatus } from '../proto/gen/galaxy/v1/common.js';

/** Status updates one `statusUpdates` message may carry (a master refuses more). */
export const MAX_STATUS_UPDATES_PER_MESSAGE = 1000;

/**
 * The messages that carry `statuses` in order: chunks of at most `max`, a single update as a
 * plain `statusUpdate`.
 */
export function statusMessages(statuses: readonly TaskStatus[], max = MAX_STATUS_UPDATES_PER_MESSAGE): AgentMessage[] {
  const messages: AgentMessage[] = [];
  for (let start = 0; start < statuses.length; start += max) {
    const chunk = statuses.slice(start, start + max);
    const [only] = chunk;
    messages.push(
      chunk.length === 1 && only
        ? { message: { $case: 'statusUpdate', statusUpdate: { status: only } } }
        : { message: { $case: 'statusUpdates', statusUpdates: { statuses: chunk } } },
    );
  }
  return messages;
}

/** Throws GALAXY_E_TOO_LARGE when one message carries more status updates than a master takes. */
export function checkStatusBatch(count: number, max = MAX_STATUS_UPDATES_PER_MESSAGE): void {
  if (count > max)
    throw new GalaxyError(
      'GALAXY_E_TOO_LARGE',
      `a statusUpdates message carries ${count} status updates; one message may carry at most ${max}: split it`,
    );
}
