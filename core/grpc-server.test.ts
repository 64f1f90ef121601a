/**
 * The limits every server built by `GalaxyServer` applies, over real sockets: messages larger than
 * the limit are refused in both directions, a connection with no call is closed after the idle
 * timeout, and at the connection cap an idle connection makes room for a new client while
 * connections with a call in flight are kept (and a newcomer is refused when all are busy).
 */
import { connect, type Socket } from 'node:net';
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../test/helpers/async-queue.js';
import { Task } from '../proto/gen/galaxy/v1/common.js';
import { OperatorClient, OperatorService, type OperatorServer } from '../proto/gen/galaxy/v1/operator.js';
import { SchedulerClient, SchedulerService, type SchedulerServer } from '../proto/gen/galaxy/v1/scheduler.js';
import { GalaxyServer } from './grpc-server.js';
import { defaultMaxConnections, fdSoftLimit, serverLimits, type ServerLimits } from './grpc-limits.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server whose ListTasks answers with `pad` bytes in a task's name, and whose SUBSCRIBE streams stay open. */
async function serve(limits: Partial<ServerLimits>, pad = 0): Promise<{ server: GalaxyServer; address: string }> {
  const server = new GalaxyServer('test API', { limits });
  const operator: Partial<OperatorServer> = {
    listTasks: (_call, callback) => {
      callback(null, { tasks: [Task.fromPartial({ taskId: 't', name: 'x'.repeat(pad) })] });
    },
  };
  server.grpc.addService(OperatorService, operator as OperatorServer);
  const scheduler: Partial<SchedulerServer> = { subscribe: () => undefined };
  server.grpc.addService(SchedulerService, scheduler as SchedulerServer);
  const address = await server.listen('127.0.0.1:0');
  cleanups.push(() => server.stop());
  return { server, address };
}

function listTasks(client: OperatorClient, frameworkId = ''): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    client.listTasks({ frameworkId }, (error) => {
      resolve(error);
    });
  });
}

/** Each client its own connection (grpc-js otherwise shares one per target). */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 };

function operator(address: string): OperatorClient {
  const client = new OperatorClient(address, credentials.createInsecure(), OWN_CONNECTION);
  cleanups.push(() => {
    client.close();
  });
  return client;
}

/** A raw TCP connection that never speaks. */
async function idleSocket(address: string): Promise<Socket> {
  const [host, port] = address.split(':');
  const socket = connect(Number(port), host);
  socket.on('error', () => undefined);
  socket.resume();
  await new Promise((resolve) => socket.once('connect', resolve));
  cleanups.push(() => socket.destroy());
  return socket;
}

const closed = (socket: Socket): boolean => socket.destroyed || socket.readableEnded;

describe('GalaxyServer limits', () => {
  it('refuses a request or an answer larger than the message limit with RESOURCE_EXHAUSTED', async () => {
    const small = await serve({ maxMessageBytes: 64 * 1024 });
    const tooBigIn = await listTasks(operator(small.address), 'y'.repeat(100 * 1024));
    expect(tooBigIn?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(await listTasks(operator(small.address))).toBeNull();
    const big = await serve({ maxMessageBytes: 64 * 1024 }, 100 * 1024);
    const tooBigOut = await listTasks(operator(big.address));
    expect(tooBigOut?.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it('closes a connection that carries no call for the idle timeout', async () => {
    const { address, server } = await serve({ maxConnectionIdleMs: 300 });
    const socket = await idleSocket(address);
    expect(server.connections).toBe(1);
    await eventually(() => closed(socket), 5000, 'the idle connection to be closed');
    await eventually(() => server.connections === 0, 2000, 'the cap to forget it');
  });

  it('at the cap, evicts the idle connections for new clients and keeps the busy ones', async () => {
    const { address, server } = await serve({ maxConnections: 3 });
    // One client holds a stream open: a call in flight on its connection.
    const subscriber = new SchedulerClient(address, credentials.createInsecure(), OWN_CONNECTION);
    cleanups.push(() => {
      subscriber.close();
    });
    const stream = subscriber.subscribe({});
    stream.on('error', () => undefined);
    cleanups.push(() => {
      stream.cancel();
    });
    await eventually(() => server.connections === 1, 5000, 'the subscriber to connect');
    await new Promise((r) => setTimeout(r, 100));
    const idle = [await idleSocket(address), await idleSocket(address)];
    await eventually(() => server.connections === 3, 2000, 'three connections');
    // A fourth client gets in: the oldest idle socket made room.
    expect(await listTasks(operator(address))).toBeNull();
    await eventually(() => closed(idle[0] as Socket), 2000, 'the oldest idle socket to be evicted');
    expect(closed(idle[1] as Socket)).toBe(false);
    // The stream kept its connection throughout.
    expect(stream.destroyed).toBe(false);
    expect(server.connections).toBeLessThanOrEqual(3);
  });

  it('refuses a newcomer when every connection has a call in flight', async () => {
    const { address, server } = await serve({ maxConnections: 1 });
    const subscriber = new SchedulerClient(address, credentials.createInsecure(), OWN_CONNECTION);
    cleanups.push(() => {
      subscriber.close();
    });
    const stream = subscriber.subscribe({});
    stream.on('error', () => undefined);
    cleanups.push(() => {
      stream.cancel();
    });
    await eventually(() => server.connections === 1, 5000, 'the subscriber to connect');
    await new Promise((r) => setTimeout(r, 100));
    const refused = await listTasks(operator(address));
    expect(refused?.code).toBe(status.UNAVAILABLE);
    expect(server.connections).toBe(1);
  });
});

describe('server limit defaults', () => {
  it('derives the connection cap from the fd limit, leaving a reserve', () => {
    expect(defaultMaxConnections(1024)).toBe(768);
    expect(defaultMaxConnections(1_000_000)).toBe(4096);
    expect(defaultMaxConnections(100)).toBe(64);
    expect(defaultMaxConnections(undefined)).toBe(4096);
    expect(fdSoftLimit()).toBeGreaterThan(0);
  });

  it('refuses limits that are not positive whole numbers', () => {
    expect(() => serverLimits({ maxConnections: 0 })).toThrow(/GALAXY_E_INVALID_ARGUMENT: server limit maxConnections/);
    expect(serverLimits({ maxMessageBytes: 1024 }).maxMessageBytes).toBe(1024);
  });
});
