/**
 * gRPC adapter of the Scheduler service: SUBSCRIBE streams events, every other call is unary.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type {
  CallResponse,
  Event,
  SchedulerCall,
  SchedulerServer,
  SubscribeCall,
} from '../proto/gen/galaxy/v1/scheduler.js';
import { GalaxyError } from '../core/errors.js';
import { toGrpcStatus } from '../core/grpc-errors.js';
import { principalOf } from '../core/auth/principal.js';
import type { FrameworksController } from './frameworks.js';
import { Connection, type FrameworkConnection, type FrameworkRecord } from './records.js';

/** Builds the Scheduler implementation over the frameworks controller. */
export function schedulerApi(frameworks: FrameworksController): SchedulerServer {
  return {
    subscribe(stream: ServerWritableStream<SubscribeCall, Event>): void {
      let framework: FrameworkRecord | undefined;
      const connection: FrameworkConnection = new Connection(stream);
      const gone = (): void => {
        connection.markClosed();
        if (framework) frameworks.disconnected(framework, connection);
      };
      stream.on('cancelled', gone);
      stream.on('error', gone);
      stream.on('close', gone);
      try {
        const info = stream.request.frameworkInfo;
        if (!info) throw new GalaxyError('GALAXY_E_FRAMEWORK_INVALID', 'SUBSCRIBE carries no framework_info');
        framework = frameworks.subscribe(info, connection);
        framework.principal = principalOf(stream);
      } catch (error) {
        connection.markClosed();
        // grpc-js ends a server stream with the status of an emitted error.
        const status = toGrpcStatus(error);
        stream.emit('error', Object.assign(new Error(status.details), status));
      }
    },
    call(call: ServerUnaryCall<SchedulerCall, CallResponse>, callback: sendUnaryData<CallResponse>): void {
      try {
        callback(null, frameworks.call(call.request) ?? {});
      } catch (error) {
        callback(toGrpcStatus(error));
      }
    },
  };
}
