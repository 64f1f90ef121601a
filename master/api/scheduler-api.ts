/**
 * gRPC adapter of the Scheduler service: SUBSCRIBE streams events, every other call is unary.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import {
  Event,
  type CallResponse,
  type SchedulerCall,
  type SchedulerServer,
  type SubscribeCall,
} from '../../proto/gen/galaxy/v1/scheduler.js';
import { GalaxyError } from '../../core/errors.js';
import { toGrpcStatus } from '../../core/grpc-errors.js';
import { callerOf } from '../../core/auth/caller.js';
import type { FrameworksController } from '../frameworks/frameworks.js';
import type { FrameworkConnection, FrameworkRecord } from '../records.js';
import { boundedConnection, type StreamBounds } from './streams.js';

/** Builds the Scheduler implementation over the frameworks controller. */
export function schedulerApi(frameworks: FrameworksController, bounds: StreamBounds): SchedulerServer {
  return {
    subscribe(stream: ServerWritableStream<SubscribeCall, Event>): void {
      let framework: FrameworkRecord | undefined;
      const gone = (): void => {
        connection.markClosed();
        if (framework) frameworks.disconnected(framework, connection);
      };
      const connection: FrameworkConnection = boundedConnection(
        stream,
        (event) => Event.encode(event).finish().byteLength,
        bounds,
        () => `framework ${framework?.info.id ?? '(subscribing)'}`,
        gone,
      );
      stream.on('cancelled', gone);
      stream.on('error', gone);
      stream.on('close', gone);
      const refuse = (error: unknown): void => {
        connection.markClosed();
        // grpc-js ends a server stream with the status of an emitted error.
        const status = toGrpcStatus(error);
        stream.emit('error', Object.assign(new Error(status.details), status));
      };
      // It takes several status updates per event (UPDATES).
      if (stream.request.batchedUpdates) bounds.ctx.frameworkEvents.acceptBatches(connection);
      const info = stream.request.frameworkInfo;
      if (!info) {
        refuse(new GalaxyError('GALAXY_E_FRAMEWORK_INVALID', 'SUBSCRIBE carries no framework_info'));
        return;
      }
      let caller;
      try {
        caller = callerOf(stream);
      } catch (error) {
        refuse(error);
        return;
      }
      frameworks.subscribe(info, connection, caller).then((subscribed) => {
        framework = subscribed;
        // The stream ended while the subscription was being stored: the framework is away.
        if (!connection.isOpen) frameworks.disconnected(subscribed, connection);
      }, refuse);
    },
    call(call: ServerUnaryCall<SchedulerCall, CallResponse>, callback: sendUnaryData<CallResponse>): void {
      let caller;
      try {
        caller = callerOf(call);
      } catch (error) {
        callback(toGrpcStatus(error));
        return;
      }
      frameworks.call(call.request, caller).then(
        (response) => {
          callback(null, response ?? {});
        },
        (error: unknown) => {
          callback(toGrpcStatus(error));
        },
      );
    },
  };
}
