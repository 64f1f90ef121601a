/**
 * The Operator RPCs of the event log: `ListEvents` (a page) and `WatchEvents` (a server stream:
 * the kept events after an id, then each new one). Both show a caller only the events it may see
 * (`filter.ts`). A watcher that stops reading is dropped once `streamQueueBytes` wait for it
 * (as a framework's stream is); it resumes with `after_id` = the last id it saw.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { callerOf, unaryAsCaller } from '../../core/auth/caller.js';
import type { Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { toGrpcStatus } from '../../core/grpc-errors.js';
import { MasterEvent, type ListEventsRequest, type OperatorServer } from '../../proto/gen/galaxy/v1/operator.js';
import { boundedConnection, type StreamBounds } from '../api/streams.js';
import { visibleTo, type EventFilter, type FrameworkOwnerOf } from './filter.js';
import type { EventLog } from './log.js';

/** The longest filter value taken (names and ids are far shorter). */
const MAX_FILTER_CHARS = 256;

/** The filter of a request, checked: GALAXY_E_INVALID_ARGUMENT on negative or oversized values. */
export function filterOf(request: ListEventsRequest): { filter: EventFilter; limit: number } {
  if (!(request.sinceS >= 0) || !(request.limit >= 0) || !(request.afterId >= 0))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'since_s, limit and after_id must not be negative');
  for (const [name, value] of Object.entries({
    kind: request.kind,
    job: request.job,
    agent_id: request.agentId,
    user: request.user,
    framework_id: request.frameworkId,
  }))
    if (value.length > MAX_FILTER_CHARS)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${name} is longer than ${MAX_FILTER_CHARS} characters`);
  return {
    filter: {
      kind: request.kind,
      job: request.job,
      agentId: request.agentId,
      user: request.user,
      frameworkId: request.frameworkId,
      sinceS: request.sinceS,
      afterId: request.afterId,
    },
    limit: request.limit,
  };
}

/**
 * The events `caller` may see matching `request`, oldest first (the newest `limit`): the one
 * query behind ListEvents and the HTTP API.
 */
export function listVisibleEvents(
  log: EventLog,
  request: ListEventsRequest,
  caller: Principal,
  ownerOf: FrameworkOwnerOf,
): MasterEvent[] {
  const { filter, limit } = filterOf(request);
  const visible = visibleTo(caller, ownerOf);
  const matching = log.query(filter).filter(visible);
  return limit > 0 ? matching.slice(-limit) : matching;
}

/**
 * Watches the events `caller` may see matching `request`: the kept ones after `after_id` (the
 * newest `limit` of them when > 0), then each new one, until the returned function is called.
 */
export function watchVisibleEvents(
  log: EventLog,
  request: ListEventsRequest,
  caller: Principal,
  ownerOf: FrameworkOwnerOf,
  onEvent: (event: MasterEvent) => void,
): () => void {
  const { filter, limit } = filterOf(request);
  const visible = visibleTo(caller, ownerOf);
  // The backlog is cut after the visibility check, so `limit` counts what the caller sees.
  const backlog = log.query(filter).filter(visible);
  for (const event of limit > 0 ? backlog.slice(-limit) : backlog) onEvent(event);
  const last = backlog.at(-1)?.id ?? 0;
  return log.watch({ ...filter, afterId: Math.max(last, filter.afterId ?? 0) }, 0, (event) => {
    if (visible(event)) onEvent(event);
  });
}

/** `ListEvents` and `WatchEvents`. */
export function eventsOperatorApi(
  log: EventLog,
  ownerOf: FrameworkOwnerOf,
  bounds: StreamBounds,
): Pick<OperatorServer, 'listEvents' | 'watchEvents'> {
  return {
    listEvents: unaryAsCaller((request, caller) => ({ events: listVisibleEvents(log, request, caller, ownerOf) })),
    watchEvents: (call: ServerWritableStream<ListEventsRequest, MasterEvent>) => {
      let stop: () => void = () => undefined;
      const connection = boundedConnection(
        call,
        (event: MasterEvent) => MasterEvent.encode(event).finish().length,
        bounds,
        () => 'an event watcher',
        () => {
          stop();
        },
      );
      call.on('cancelled', () => {
        stop();
      });
      call.on('close', () => {
        stop();
      });
      try {
        stop = watchVisibleEvents(log, call.request, callerOf(call), ownerOf, (event) => {
          connection.send(event);
        });
      } catch (error) {
        const status = toGrpcStatus(error);
        call.emit('error', Object.assign(new Error(status.details), status));
      }
    },
  };
}
