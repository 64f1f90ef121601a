/**
 * The master's event log: what the master did on its own that operators want to see (today:
 * preemptions), newest last, bounded, in memory. `galaxy events` reads it.
 */
import { GalaxyError } from '../core/errors.js';
import { unaryHandler } from '../core/grpc-errors.js';
import type { MasterEvent, OperatorServer } from '../proto/gen/galaxy/v1/operator.js';

/** How many events the log keeps by default. */
export const EVENT_LOG_LIMIT = 1000;

/** A bounded log of master events. */
export class MasterEventLog {
  private readonly events: MasterEvent[] = [];

  constructor(private readonly limit = EVENT_LOG_LIMIT) {}

  /** Appends an event, forgetting the oldest past the limit. */
  add(event: MasterEvent): void {
    this.events.push(event);
    if (this.events.length > this.limit) this.events.splice(0, this.events.length - this.limit);
  }

  /**
   * Events oldest first, optionally of one kind, at or after `sinceS` (seconds since the epoch),
   * and only the newest `limit` (0 = all).
   */
  list(kind = '', sinceS = 0, limit = 0): MasterEvent[] {
    const matching = this.events.filter((e) => (kind === '' || e.kind === kind) && e.time >= sinceS);
    return limit > 0 ? matching.slice(-limit) : matching;
  }
}

/** The Operator RPC that reads the log: `ListEvents`. */
export function eventsOperatorApi(log: MasterEventLog): Pick<OperatorServer, 'listEvents'> {
  return {
    listEvents: unaryHandler((request) => {
      if (!(request.sinceS >= 0) || !(request.limit >= 0))
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'since_s and limit must not be negative');
      return { events: log.list(request.kind, request.sinceS, request.limit) };
    }),
  };
}
