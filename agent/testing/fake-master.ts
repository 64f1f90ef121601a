/**
 * A scripted stand-in for the master's AgentGateway, on a real gRPC server over loopback, for
 * testing the agent without a cluster: it records every registration and message, answers
 * registrations and acknowledges status updates as the test says, and sends what the test pushes.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { GalaxyServer } from '../../core/grpc-server.js';
import type { TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import {
  AgentGatewayService,
  type AgentMessage,
  type MasterMessage,
  type RegisterAgent,
} from '../../proto/gen/galaxy/v1/agent.js';
import { MessageLog } from '../../core/testing/async-queue.js';
import { bearerToken } from '../../core/auth/principal.js';

/** The body of a master message, e.g. `{ $case: 'ping', ping: { seq: 1 } }`. */
export type MasterBody = NonNullable<MasterMessage['message']>;

/** How the fake master behaves. */
export interface FakeAgentMasterOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. Reuse a port to "restart" a master. */
  readonly port?: number;
  /** The id given to agents registering without one. Default `agent-1`. */
  readonly agentId?: string;
  /** Return an `error` body to refuse a registration; the stream is then left open. */
  readonly onRegister?: (registration: RegisterAgent) => MasterBody | undefined;
  /** The credential AgentRegistered carries (as for a registration with a join token). Default none. */
  readonly credential?: (registration: RegisterAgent) => string;
}

type AgentStream = ServerDuplexStream<AgentMessage, MasterMessage>;

/** A running fake master. */
export interface FakeAgentMaster {
  /** `127.0.0.1:port`. */
  readonly address: string;
  readonly port: number;
  /** Every RegisterAgent, in order. */
  readonly registrations: MessageLog<RegisterAgent>;
  /** Every status update received, resends included, in order. */
  readonly updates: MessageLog<TaskStatus>;
  /** Every pong's sequence number. */
  readonly pongs: MessageLog<number>;
  /** The number of updates each batched `statusUpdates` message carried, in order. */
  readonly statusMessages: number[];
  /** The bearer token each stream was opened with ('' for none), in order. */
  readonly bearers: MessageLog<string>;
  /** Acknowledge status updates as they arrive (default true). */
  autoAck: boolean;
  /** Streams open now (registered or not). */
  openStreams(): number;
  /** Sends a message on every open stream. */
  send(body: MasterBody): void;
  /** Acknowledges one update. */
  ack(status: TaskStatus): void;
  /** Ends every open stream normally, as a master dropping its agents would. */
  closeStreams(): void;
  /** Shuts the server down at once. */
  stop(): Promise<void>;
}

/** Starts a fake master on loopback. */
export async function startFakeAgentMaster(options: FakeAgentMasterOptions = {}): Promise<FakeAgentMaster> {
  const registrations = new MessageLog<RegisterAgent>();
  const updates = new MessageLog<TaskStatus>();
  const statusMessages: number[] = [];
  const pongs = new MessageLog<number>();
  const bearers = new MessageLog<string>();
  const streams = new Set<AgentStream>();

  const write = (stream: AgentStream, body: MasterBody): void => {
    if (stream.writable) stream.write({ message: body });
  };
  const ackBody = (status: TaskStatus): MasterBody => ({
    $case: 'ack',
    ack: { frameworkId: status.frameworkId, taskId: status.taskId, uuid: status.uuid },
  });

  const server = new GalaxyServer('fake master');
  server.grpc.addService(AgentGatewayService, {
    connect(stream: AgentStream): void {
      streams.add(stream);
      bearers.push(bearerToken(stream.metadata) ?? '');
      const forget = (): void => {
        streams.delete(stream);
      };
      stream.on('data', (message: AgentMessage) => {
        const body = message.message;
        if (body?.$case === 'register') {
          registrations.push(body.register);
          const refusal = options.onRegister?.(body.register);
          const agentId = body.register.agentInfo?.id || (options.agentId ?? 'agent-1');
          write(
            stream,
            refusal ?? {
              $case: 'registered',
              registered: {
                agentId,
                masterId: 'fake',
                heartbeatIntervalS: 0,
                credential: options.credential?.(body.register) ?? '',
              },
            },
          );
        } else if (body?.$case === 'statusUpdate' && body.statusUpdate.status) {
          const status = body.statusUpdate.status;
          updates.push(status);
          if (master.autoAck) write(stream, ackBody(status));
        } else if (body?.$case === 'statusUpdates') {
          // Several at once (agent/status-outbox.ts): each as if it came alone, in order.
          statusMessages.push(body.statusUpdates.statuses.length);
          for (const status of body.statusUpdates.statuses) {
            updates.push(status);
            if (master.autoAck) write(stream, ackBody(status));
          }
        } else if (body?.$case === 'pong') {
          pongs.push(body.pong.seq);
        }
      });
      stream.on('end', () => {
        forget();
        stream.end();
      });
      stream.on('error', forget);
      stream.on('cancelled', forget);
    },
  });
  const port = Number((await server.listen(`127.0.0.1:${options.port ?? 0}`)).split(':')[1]);

  const master: FakeAgentMaster = {
    address: `127.0.0.1:${port}`,
    port,
    registrations,
    updates,
    statusMessages,
    pongs,
    bearers,
    autoAck: true,
    openStreams: () => streams.size,
    send(body) {
      for (const stream of streams) write(stream, body);
    },
    ack(status) {
      master.send(ackBody(status));
    },
    closeStreams() {
      for (const stream of streams) stream.end();
      streams.clear();
    },
    stop: async () => {
      master.closeStreams();
      server.forceStop();
      await Promise.resolve();
    },
  };
  return master;
}
