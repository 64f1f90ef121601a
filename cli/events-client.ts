/**
 * The event-log call of the Operator API, as the CLI makes it (through `Operator.events`, so it
 * shares the operator's channel and credentials).
 */
import type { ServiceError } from '@grpc/grpc-js';
import type { ListEventsResponse, MasterEvent, OperatorClient } from '../proto/gen/galaxy/v1/operator.js';

type Unary = <Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown) => Promise<Res>;

/** Reading the master's event log. */
export interface EventCalls {
  list(kind: string, sinceS: number, limit: number): Promise<MasterEvent[]>;
}

/** The calls over `client`, each made through `unary` (which turns errors into coded ones). */
export function eventCalls(client: OperatorClient, unary: Unary): EventCalls {
  return {
    list: async (kind, sinceS, limit) =>
      (await unary<ListEventsResponse>((cb) => client.listEvents({ kind, sinceS, limit }, cb))).events,
  };
}
