/**
 * What the HTTP API's `/api/v1/events` and its server-sent-event stream read: the master's event
 * log (`master/events/`), with the visibility rule of ListEvents and WatchEvents
 * (`listVisibleEvents`, `watchVisibleEvents`), as one request's caller. Following is a watch on
 * the log, not a poll: an event reaches a console the moment it is appended.
 */
import type { Principal } from '../../core/auth/principal.js';
import { ListEventsRequest, type MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';
import { listVisibleEvents, watchVisibleEvents } from '../events/api.js';
import type { FrameworkOwnerOf } from '../events/filter.js';
import type { EventLog } from '../events/log.js';

/** Events as one caller may read them. */
export interface EventFeed {
  /** Events at or after `sinceS` (seconds since the epoch), oldest first, the newest `limit` (0 = all). */
  list(sinceS: number, limit: number): Promise<MasterEvent[]>;
  /**
   * Calls `onEvent` for each event appended from now on, until the returned function is called.
   * `onError` is for feeds that can fail while following; the log's cannot.
   */
  follow(onEvent: (event: MasterEvent) => void, onError: (error: unknown) => void): () => void;
}

/** The feed of `caller` on `log`; `ownerOf` names a framework's owner (a user sees their own). */
export function logEventFeed(log: EventLog, ownerOf: FrameworkOwnerOf, caller: Principal): EventFeed {
  return {
    list: (sinceS, limit) =>
      Promise.resolve(listVisibleEvents(log, ListEventsRequest.fromPartial({ sinceS, limit }), caller, ownerOf)),
    follow(onEvent) {
      const newest = log.query({}, 1).at(-1)?.id ?? 0;
      return watchVisibleEvents(log, ListEventsRequest.fromPartial({ afterId: newest }), caller, ownerOf, onEvent);
    },
  };
}
