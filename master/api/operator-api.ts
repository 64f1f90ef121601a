/**
 * gRPC adapter of the Operator service: what the CLI and the console read and set.
 */
import { GalaxyError } from '../../core/errors.js';
import { toGrpcStatus, unaryHandler } from '../../core/grpc-errors.js';
import { checkRole } from '../../core/validate.js';
import type { MasterView } from '../view.js';
import { mediumTotals } from '../../core/disk-usage.js';
import type { Allocator } from '../../allocators/allocator.js';
import type { UsageCollector } from '../accounting/usage.js';
import type { MasterHooks } from '../hooks.js';
import type { MachinesOperator, OperatorServerWithout } from './machines-api.js';
import type { TenancyOperator } from './tenancy-api.js';
import type { MasterAuthorization } from '../tenancy/authorization.js';
import { adminOnly, unaryAsCaller } from '../../core/auth/caller.js';
import type { Principal } from '../../core/auth/principal.js';

function isAdmin(caller: Principal): boolean {
  return caller.admin && caller.kind === 'user';
}

/** Builds the Operator implementation. */
export function operatorApi(
  view: MasterView,
  allocator: Allocator,
  usage: UsageCollector,
  hooks: MasterHooks,
  authorization: MasterAuthorization,
  ownerOf: (frameworkId: string) => string | undefined,
): OperatorServerWithout<
  | keyof MachinesOperator
  | keyof TenancyOperator
  | 'listEvents'
  | 'getMasterStats'
  | 'watchEvents'
  | 'reserveResources'
  | 'unreserveResources'
> {
  return {
    listAgents: unaryHandler(() => {
      const agents = view.agents();
      return { agents, media: mediumTotals(agents.flatMap((a) => a.disks)) };
    }),
    // A non-admin sees only the frameworks it owns, and only its own tasks (docs/security.md).
    listFrameworks: unaryAsCaller((_request, caller) => ({
      frameworks: view
        .frameworks()
        .filter((f) => isAdmin(caller) || (caller.kind === 'user' && f.owner === caller.user)),
    })),
    listTasks: unaryAsCaller((request, caller) => ({
      tasks: view.tasks(request.frameworkId).filter(authorization.taskFilter(caller, ownerOf)),
    })),
    getUsage: (call, callback) => {
      usage.collect(call.request.frameworkId).then(
        (tasks) => {
          callback(null, { tasks });
        },
        (error: unknown) => {
          callback(toGrpcStatus(error));
        },
      );
    },
    getWeights: unaryHandler(() => ({ weights: allocator.weights() })),
    // Weights decide every role's share of the cluster: an admin's call (docs/security.md).
    setWeights: adminOnly('set role weights', (request) => {
      // Validate every entry first so that a bad one changes nothing.
      for (const { role, weight } of request.weights) {
        checkRole(role);
        if (!(Number.isFinite(weight) && weight > 0)) {
          throw new GalaxyError(
            'GALAXY_E_INVALID_ARGUMENT',
            `weight of role ${role} must be a positive number, got ${weight}`,
          );
        }
      }
      for (const { role, weight } of request.weights) allocator.setWeight(role, weight);
      hooks.weightsChanged.call(allocator.weights());
      return {};
    }),
  };
}
