/**
 * A scripted stand-in for the master's Scheduler service, on a real gRPC server over loopback,
 * for testing the driver and frameworks without a cluster: it records every subscription and
 * call, answers calls as the test says, and sends whatever events the test pushes.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { GalaxyServer } from '../../../core/grpc-server.js';
import { toGrpcStatus, unaryHandler } from '../../../core/grpc-errors.js';
import type { FrameworkInfo } from '../../../proto/gen/galaxy/v1/common.js';
import {
  SchedulerService,
  type CallResponse,
  type Event,
  type SchedulerCall,
  type SubscribeCall,
} from '../../../proto/gen/galaxy/v1/scheduler.js';
import { MessageLog } from '../../../core/testing/async-queue.js';

/** How the fake master behaves. */
export interface FakeMasterOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. Reuse a port to "restart" a master. */
  readonly port?: number;
  /** Reported in SUBSCRIBED; heartbeats are sent at this pace. Default 0.1 s; 0 sends none. */
  readonly heartbeatIntervalS?: number;
  /** Throw a GalaxyError to refuse a subscription with its code. */
  readonly onSubscribe?: (info: FrameworkInfo) => void;
  /** Throw a GalaxyError to fail a call with its code; anything else succeeds. */
  readonly onCall?: (call: SchedulerCall) => void;
  /** The answer to a call that `onCall` let through (a PREEMPT's plan), or its promise (a call held back); default `{}`. */
  readonly answer?: (call: SchedulerCall) => CallResponse | undefined | Promise<CallResponse | undefined>;
}

/** A running fake master. */
export interface FakeMaster {
  /** `127.0.0.1:port`. */
  readonly address: string;
  readonly port: number;
  /** Every SUBSCRIBE's framework info, in order. */
  readonly subscriptions: MessageLog<FrameworkInfo>;
  /** Every call, in order. */
  readonly calls: MessageLog<SchedulerCall>;
  /** Streams open now. */
  openStreams(): number;
  /** Sends an event on every open stream. */
  send(event: NonNullable<Event['event']>): void;
  /** Stops heartbeats on open streams without closing them: a master gone silent. */
  silence(): void;
  /** Ends every open stream normally, as a master dropping its frameworks would. */
  closeStreams(): void;
  /** Shuts the server down at once. */
  stop(): Promise<void>;
}

/** Starts a fake master on loopback. */
export async function startFakeMaster(options: FakeMasterOptions = {}): Promise<FakeMaster> {
  const intervalS = options.heartbeatIntervalS ?? 0.1;
  const subscriptions = new MessageLog<FrameworkInfo>();
  const calls = new MessageLog<SchedulerCall>();
  const streams = new Map<ServerWritableStream<SubscribeCall, Event>, NodeJS.Timeout | undefined>();
  let nextId = 1;

  const forget = (stream: ServerWritableStream<SubscribeCall, Event>): void => {
    clearInterval(streams.get(stream));
    streams.delete(stream);
  };
  const server = new GalaxyServer('fake master');
  server.grpc.addService(SchedulerService, {
    subscribe(stream: ServerWritableStream<SubscribeCall, Event>): void {
      const info: FrameworkInfo = stream.request.frameworkInfo ?? {
        id: '',
        name: '',
        role: '',
        user: '',
        failoverTimeoutS: 0,
        hostname: '',
        roles: [],
      };
      subscriptions.push(info);
      try {
        options.onSubscribe?.(info);
      } catch (error) {
        const status = toGrpcStatus(error);
        stream.emit('error', Object.assign(new Error(status.details), status));
        return;
      }
      const frameworkId = info.id !== '' ? info.id : `fw-fake-${nextId++}`;
      stream.write({
        event: { $case: 'subscribed', subscribed: { frameworkId, heartbeatIntervalS: intervalS, masterId: 'fake' } },
      });
      const heartbeat =
        intervalS > 0
          ? setInterval(() => stream.write({ event: { $case: 'heartbeat', heartbeat: {} } }), intervalS * 1000)
          : undefined;
      streams.set(stream, heartbeat);
      stream.on('cancelled', () => {
        forget(stream);
      });
      stream.on('close', () => {
        forget(stream);
      });
    },
    call: unaryHandler<SchedulerCall, CallResponse>(async (call) => {
      calls.push(call);
      options.onCall?.(call);
      return (await options.answer?.(call)) ?? {};
    }),
  });
  const port = Number((await server.listen(`127.0.0.1:${options.port ?? 0}`)).split(':')[1]);

  return {
    address: `127.0.0.1:${port}`,
    port,
    subscriptions,
    calls,
    openStreams: () => streams.size,
    send(event) {
      for (const stream of streams.keys()) stream.write({ event });
    },
    silence() {
      for (const [stream, timer] of streams) {
        clearInterval(timer);
        streams.set(stream, undefined);
      }
    },
    closeStreams() {
      for (const stream of [...streams.keys()]) {
        forget(stream);
        stream.end();
      }
    },
    stop() {
      for (const stream of [...streams.keys()]) forget(stream);
      server.forceStop();
      return Promise.resolve();
    },
  };
}
