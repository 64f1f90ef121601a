/**
 * The connections a master writes its streams on (a framework's SUBSCRIBE, an agent's Connect)
 * let it send CLIENT_RECEIVE_WINDOW_BYTES before the client acknowledges, not HTTP/2's 64 KiB:
 * checked from the server's side of a real connection (a bare HTTP/2 server reads the window the
 * client granted).
 */
import http2 from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import { credentials } from '@grpc/grpc-js';
import { reconnectChannelOptions } from '../../agent/master-link.js';
import { GrpcSchedulerDriver } from '../../frameworks/sdk/scheduler-driver.js';
import { AgentGatewayClient } from '../../proto/gen/galaxy/v1/agent.js';
import { CLIENT_RECEIVE_WINDOW_BYTES } from '../../core/grpc-limits.js';
import { eventually } from '../../core/testing/async-queue.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A bare HTTP/2 server that records the send window each client connection grants it. */
async function windowProbe(): Promise<{ address: string; windows: () => number[] }> {
  const sessions: http2.ServerHttp2Session[] = [];
  const server = http2.createServer();
  server.on('session', (session) => sessions.push(session));
  server.on('stream', (stream) => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' }, { endStream: true });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.destroy();
        server.close(() => {
          resolve();
        });
      }),
  );
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    windows: () => sessions.map((s) => s.state.remoteWindowSize ?? 0),
  };
}

/** The largest window a client granted the probe, once one beyond HTTP/2's default arrives (or what there is after 5 s). */
async function grantedWindow(probe: { windows: () => number[] }): Promise<number> {
  const largest = (): number => Math.max(0, ...probe.windows());
  return eventually(() => largest() > 65_535 && largest(), 5_000, 'a window beyond the default').catch(largest);
}

describe('client receive window', () => {
  it("a framework's link grants the master the large window", async () => {
    const probe = await windowProbe();
    const driver = new GrpcSchedulerDriver({
      master: probe.address,
      framework: { name: 'receive-window', failoverTimeoutS: 1 },
      scheduler: {},
      reconnect: { initialMs: 50, maxMs: 100 },
    });
    cleanups.push(() => driver.stop());
    void driver.start().catch(() => undefined);
    expect(await grantedWindow(probe)).toBeGreaterThanOrEqual(CLIENT_RECEIVE_WINDOW_BYTES - 65_535);
  });

  it("an agent's link grants the master the large window", async () => {
    const probe = await windowProbe();
    const client = new AgentGatewayClient(
      probe.address,
      credentials.createInsecure(),
      reconnectChannelOptions(probe.address),
    );
    cleanups.push(() => {
      client.close();
    });
    const stream = client.connect();
    stream.on('error', () => undefined);
    cleanups.push(() => {
      stream.cancel();
    });
    expect(await grantedWindow(probe)).toBeGreaterThanOrEqual(CLIENT_RECEIVE_WINDOW_BYTES - 65_535);
  });
});
