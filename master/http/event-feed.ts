/**
 * SEAM (events): what the HTTP API's `/api/v1/events` and its server-sent-event stream read.
 * Today it reads the master's in-memory event log (preemptions) through the Operator's own
 * `ListEvents` handler, as the caller, and follows it by asking again every second. When the
 * persisted event log with its watch RPC lands (issue 17 item 2), give {@link EventFeed} an
 * implementation on that watch instead; the routes and the console stay as they are.
 */
import type { OperatorService, MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';
import type { PromiseClient } from '../../core/promise-client.js';

/** Events as one caller may read them. */
export interface EventFeed {
  /** Events at or after `sinceS` (seconds since the epoch), oldest first, the newest `limit` (0 = all). */
  list(sinceS: number, limit: number): Promise<MasterEvent[]>;
  /**
   * Calls `onEvent` for each event after those `list` gave (from now on), until the returned
   * function is called.
   */
  follow(onEvent: (event: MasterEvent) => void, onError: (error: unknown) => void): () => void;
}

/** How often the polling feed asks again (ms). */
export const EVENT_POLL_MS = 1000;

/** An event's identity for de-duplication across polls (events carry no id yet). */
function keyOf(event: MasterEvent): string {
  return JSON.stringify([event.time, event.kind, event.reason, event.preemption?.requestId ?? '']);
}

/** The feed on today's `ListEvents`, as `operator` (the caller's in-process Operator client). */
export function pollingEventFeed(operator: Pick<PromiseClient<typeof OperatorService>, 'listEvents'>): EventFeed {
  const list = async (sinceS: number, limit: number) => (await operator.listEvents({ kind: '', sinceS, limit })).events;
  return {
    list,
    follow(onEvent, onError) {
      let since = Date.now() / 1000;
      let seen = new Set<string>();
      let stopped = false;
      const poll = async (): Promise<void> => {
        if (stopped) return;
        try {
          const events = await list(since, 0);
          const next = new Set<string>();
          for (const event of events) {
            const key = keyOf(event);
            next.add(key);
            if (!seen.has(key)) onEvent(event);
          }
          // Events of the newest second may be listed again next time: remember those only.
          const newest = events.at(-1)?.time;
          if (newest !== undefined) {
            since = newest;
            seen = new Set([...next].filter((k) => (JSON.parse(k) as [number])[0] >= newest));
          }
        } catch (error) {
          onError(error);
          return;
        }
        timer = setTimeout(() => void poll(), EVENT_POLL_MS);
      };
      let timer = setTimeout(() => void poll(), EVENT_POLL_MS);
      return () => {
        stopped = true;
        clearTimeout(timer);
      };
    },
  };
}
