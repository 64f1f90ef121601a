/**
 * The reservation calls of the Operator API, as the CLI makes them (through
 * `Operator.reservations`, so they share its channel and credentials).
 */
import type { ServiceError } from '@grpc/grpc-js';
import type { ReservedResources, Resources } from '../proto/gen/galaxy/v1/common.js';
import type { OperatorClient, ReserveResourcesResponse } from '../proto/gen/galaxy/v1/operator.js';

type Unary = <Res>(invoke: (cb: (err: ServiceError | null, res: Res) => void) => unknown) => Promise<Res>;

/** Dynamic reservations; each resolves with the agent's reservations afterwards. */
export interface ReservationCalls {
  reserve(agentId: string, role: string, resources: Resources): Promise<ReservedResources[]>;
  unreserve(agentId: string, role: string, resources: Resources): Promise<ReservedResources[]>;
}

/** The calls over `client`, each made through `unary` (which turns errors into coded ones). */
export function reservationCalls(client: OperatorClient, unary: Unary): ReservationCalls {
  return {
    reserve: async (agentId, role, resources) =>
      (await unary<ReserveResourcesResponse>((cb) => client.reserveResources({ agentId, role, resources }, cb)))
        .reservations,
    unreserve: async (agentId, role, resources) =>
      (await unary<ReserveResourcesResponse>((cb) => client.unreserveResources({ agentId, role, resources }, cb)))
        .reservations,
  };
}
