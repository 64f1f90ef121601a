/**
 * gRPC adapter of the Operator service: what the CLI and the console read and set.
 */
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { OperatorServer } from '../proto/gen/galaxy/v1/operator.js';
import { GalaxyError } from '../core/errors.js';
import { toGrpcStatus } from '../core/grpc-errors.js';
import { checkRole } from '../core/validate.js';
import type { MasterView } from './view.js';
import type { Allocator } from '../allocators/allocator.js';
import type { UsageCollector } from './usage.js';

/** Wraps a synchronous handler so that a thrown coded error becomes a gRPC status. */
function unary<Req, Res>(handler: (request: Req) => Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    try {
      callback(null, handler(call.request));
    } catch (error) {
      callback(toGrpcStatus(error));
    }
  };
}

/** Builds the Operator implementation. */
export function operatorApi(view: MasterView, allocator: Allocator, usage: UsageCollector): OperatorServer {
  return {
    listAgents: unary(() => ({ agents: view.agents() })),
    listFrameworks: unary(() => ({ frameworks: view.frameworks() })),
    listTasks: unary((request) => ({ tasks: view.tasks(request.frameworkId) })),
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
    getWeights: unary(() => ({ weights: allocator.weights() })),
    setWeights: unary((request) => {
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
      return {};
    }),
  };
}
