/**
 * The Operator RPCs of dynamic reservations: `ReserveResources` and `UnreserveResources`.
 * Admins only (on an open master every caller is an admin).
 */
import type { OperatorServer } from '../../proto/gen/galaxy/v1/operator.js';
import { callerOf, requireAdmin } from '../../core/auth/caller.js';
import { unaryHandler } from '../../core/grpc-errors.js';
import { emptyResources } from '../../core/resources.js';
import type { ReservationBook } from '../tenancy/reservations.js';

type Handlers = Pick<OperatorServer, 'reserveResources' | 'unreserveResources'>;

/** Builds the two handlers over the master's {@link ReservationBook}. */
export function reservationApi(book: ReservationBook): Handlers {
  return {
    reserveResources: (call, callback) => {
      unaryHandler(async () => {
        requireAdmin(callerOf(call), 'reserve resources');
        const { agentId, role, resources } = call.request;
        return { reservations: await book.reserve(agentId, role, resources ?? emptyResources()) };
      })(call, callback);
    },
    unreserveResources: (call, callback) => {
      unaryHandler(async () => {
        requireAdmin(callerOf(call), 'unreserve resources');
        const { agentId, role, resources } = call.request;
        return { reservations: await book.unreserve(agentId, role, resources ?? emptyResources()) };
      })(call, callback);
    },
  };
}
