/**
 * gRPC adapter of the Operator service: what the CLI and the console read and set.
 */
import { GalaxyError } from '../core/errors.js';
import { toGrpcStatus, unaryHandler } from '../core/grpc-errors.js';
import { checkRole } from '../core/validate.js';
import type { MasterView } from './view.js';
import type { Allocator } from '../allocators/allocator.js';
import type { UsageCollector } from './usage.js';
import type { MasterHooks } from './hooks.js';
import type { MachinesOperator, OperatorServerWithout } from './machines-api.js';
import type { TenancyOperator } from './tenancy-api.js';
import type { MasterAuthorization } from './authorization.js';
import { adminOnly, unaryAsCaller } from '../core/auth/caller.js';

/** Builds the Operator implementation. */
export function operatorApi(
  view: MasterView,
  allocator: Allocator,
  usage: UsageCollector,
  hooks: MasterHooks,
  authorization?: MasterAuthorization,
): OperatorServerWithout<
  keyof MachinesOperator | keyof TenancyOperator | 'listEvents' | 'reserveResources' | 'unreserveResources'
> {
  return {
    listAgents: unaryHandler(() => ({ agents: view.agents() })),
    listFrameworks: unaryHandler(() => ({ frameworks: view.frameworks() })),
    listTasks: unaryAsCaller((request, caller) => {
      const tasks = view.tasks(request.frameworkId);
      return { tasks: authorization ? tasks.filter(authorization.taskFilter(caller)) : tasks };
    }),
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
