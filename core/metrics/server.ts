/**
 * Every daemon's Prometheus endpoint (`--metrics-listen host:port`): `GET /metrics` answers the
 * text exposition of the daemon's prom-client registries (one per daemon in the process: `galaxy
 * up` runs four) and of the process's own metrics (cpu, memory, event loop lag, once per process).
 * Metrics are read-only and name no secret, so the endpoint takes no token, as Mesos' and Nomad's
 * do; bind it to an address only Prometheus reaches.
 */
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { GalaxyError } from '../errors.js';

/** The process's own metrics (one registry per process: default metrics may be collected once). */
let processRegistry: Registry | undefined;

/** The registry of the process's metrics, made on first use. */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'galaxy_' });
    // Gauges prom-client names with a counter's `_total` (promtool refuses them); the per-type
    // `galaxy_nodejs_active_*` gauges beside them say the same.
    for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total'])
      processRegistry.removeSingleMetric(`galaxy_nodejs_${name}`);
  }
  return processRegistry;
}

/** A serving metrics endpoint. */
export interface MetricsEndpoint {
  /** `host:port` it listens on. */
  readonly address: string;
  /** The text a scrape gets now (tests, and the master's HTTP API). */
  scrape(): Promise<string>;
  close(): Promise<void>;
}

/** Splits `host:port`, refusing anything else with GALAXY_E_INVALID_ARGUMENT. */
function parseListen(listen: string): { host: string; port: number } {
  const match = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65535)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--metrics-listen must be host:port, got "${listen}"`);
  return { host: match[1].replace(/^\[|\]$/g, ''), port };
}

/**
 * Serves `registries` (and the process's metrics) on `listen` at `/metrics`. Metric names of
 * different daemons never collide: each daemon prefixes its own (`galaxy_master_`, `galaxy_agent_`…).
 */
export async function serveMetrics(
  listen: string,
  registries: readonly Registry[] | (() => readonly Registry[]),
): Promise<MetricsEndpoint> {
  const { host, port } = parseListen(listen);
  // A function is asked at every scrape: a standby master's registry appears once it leads.
  const current = () =>
    Registry.merge([processMetrics(), ...(typeof registries === 'function' ? registries() : registries)]);
  const contentType = processMetrics().contentType;
  const scrape = () => current().metrics();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?', 1)[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at GET /metrics\n');
      return;
    }
    scrape().then(
      (text) => {
        response.writeHead(200, { 'content-type': contentType }).end(text);
      },
      (error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => {
      reject(new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `cannot serve metrics on ${listen}: ${error.message}`));
    });
    server.listen(port, host, () => {
      resolve();
    });
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? `${host}:${bound.port}` : listen;
  return {
    address,
    scrape,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
