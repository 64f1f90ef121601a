/**
 * Raw protocol clients for tests that must send what a well-behaved SDK never would.
 */
import { type ClientDuplexStream, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { clientOptions } from '../../core/auth/client.js';
import { fromGrpcError } from '../../core/grpc-errors.js';
import type { GalaxyError } from '../../core/errors.js';
import type { AgentInfo, FrameworkInfo, Task } from '../../proto/gen/galaxy/v1/common.js';
import { AgentGatewayClient, type AgentMessage, type MasterMessage } from '../../proto/gen/galaxy/v1/agent.js';
import { SchedulerClient, type Event, type SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { MessageLog } from './async-queue.js';
import { channelCredentials } from '../../core/tls.js';

/** A hand-driven agent connection. */
export interface RawAgent {
  readonly received: MessageLog<MasterMessage>;
  send(message: AgentMessage): void;
  /** Resolves with the agent id, or rejects with the master's refusal (an error message, or the stream's error). */
  registered: Promise<string>;
  /** The credential the master sent with AgentRegistered (a registration with a join token), else ''. */
  credential: Promise<string>;
  close(): void;
  readonly stream: ClientDuplexStream<AgentMessage, MasterMessage>;
}

/** Opens an agent stream and sends RegisterAgent. */
export function rawAgent(
  master: string,
  info: Partial<AgentInfo>,
  tasks: Task[] = [],
  frameworks: FrameworkInfo[] = [],
  /** A bearer token, for an authenticating master. */
  token?: string,
): RawAgent {
  const client = new AgentGatewayClient(master, channelCredentials(), clientOptions(token));
  const stream = client.connect();
  const received = new MessageLog<MasterMessage>();
  stream.on('data', (m: MasterMessage) => {
    received.push(m);
  });
  const failed = new Promise<never>((_resolve, reject) => {
    stream.on('error', (error: ServiceError) => {
      reject(fromGrpcError(error));
    });
  });
  failed.catch(() => undefined);
  const agentInfo: AgentInfo = {
    id: '',
    hostname: 'test-host',
    attributes: [],
    pool: 'default',
    address: '',
    reservations: [],
    allowedHostPaths: [],
    total: { cpus: 4000, mem: 8 * 1024 ** 3, disk: 10 * 1024 ** 3, gpus: 0, ports: [{ begin: 31000, end: 31099 }] },
    ...info,
  };
  stream.write({ message: { $case: 'register', register: { agentInfo, tasks, frameworks, version: 'test' } } });
  const answer = Promise.race([
    received.waitFor(
      (m) => m.message?.$case === 'registered' || m.message?.$case === 'error',
      10_000,
      'registration answer',
    ),
    failed,
  ]).then((m) => {
    if (m.message?.$case === 'registered') return m.message.registered;
    throw new Error(m.message?.$case === 'error' ? m.message.error.message : 'unexpected');
  });
  const registered = answer.then((r) => r.agentId);
  const credential = answer.then((r) => r.credential);
  registered.catch(() => undefined);
  credential.catch(() => undefined);
  return {
    received,
    registered,
    credential,
    stream,
    send: (message) => stream.write(message),
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

/** A hand-driven framework connection. */
export interface RawFramework {
  readonly events: MessageLog<Event>;
  readonly frameworkId: Promise<string>;
  call(call: Omit<SchedulerCall, 'frameworkId'> & { frameworkId?: string }): Promise<void>;
  close(): void;
  readonly stream: ClientReadableStream<Event>;
  readonly error: Promise<GalaxyError>;
}

/**
 * Subscribes a framework by hand. With `autoAck`, every update that carries a uuid is
 * acknowledged as it arrives, as the SDK does.
 */
export function rawFramework(
  master: string,
  info: Partial<FrameworkInfo>,
  autoAck = false,
  /** A bearer token, for an authenticating master. */
  token?: string,
): RawFramework {
  const client = new SchedulerClient(master, channelCredentials(), clientOptions(token));
  const frameworkInfo: FrameworkInfo = {
    id: '',
    name: 'raw',
    role: '*',
    user: 'test',
    failoverTimeoutS: 0,
    hostname: '',
    roles: [],
    ...info,
  };
  const stream = client.subscribe({ frameworkInfo });
  const events = new MessageLog<Event>();
  let closed = false;
  stream.on('data', (e: Event) => {
    events.push(e);
    const status = e.event?.$case === 'update' ? e.event.update.status : undefined;
    if (autoAck && status?.uuid && !closed) {
      void frameworkId.then(
        (id) =>
          closed ||
          client.call(
            {
              frameworkId: id,
              call: {
                $case: 'acknowledge',
                acknowledge: { agentId: status.agentId, taskId: status.taskId, uuid: status.uuid },
              },
            },
            () => undefined,
          ),
      );
    }
  });
  const error = new Promise<GalaxyError>((resolve) => {
    stream.on('error', (e) => {
      resolve(fromGrpcError(e));
    });
  });
  const frameworkId = events
    .waitFor((e) => e.event?.$case === 'subscribed', 10_000, 'SUBSCRIBED')
    .then((e) => (e.event?.$case === 'subscribed' ? e.event.subscribed.frameworkId : ''));
  frameworkId.catch(() => undefined);
  return {
    events,
    frameworkId,
    stream,
    error,
    call: async (call) => {
      const id = call.frameworkId ?? (await frameworkId);
      await new Promise<void>((resolve, reject) => {
        client.call({ ...call, frameworkId: id }, (err) => {
          if (err) reject(fromGrpcError(err));
          else resolve();
        });
      });
    },
    close: () => {
      closed = true;
      stream.cancel();
      client.close();
    },
  };
}

/**
 * The update uuids a master message acknowledges: one (`ack`) or a turn's worth (`acks`: the
 * master batches the acknowledgements it sends an agent in one turn of its event loop).
 */
export function ackedUuids(message: MasterMessage): string[] {
  const body = message.message;
  if (body?.$case === 'ack') return [body.ack.uuid];
  if (body?.$case === 'acks') return body.acks.acks.map((ack) => ack.uuid);
  return [];
}
