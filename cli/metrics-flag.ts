/**
 * `--metrics-listen host:port` of every daemon command: serves the daemon's Prometheus metrics at
 * `http://host:port/metrics` (`core/metrics/server.ts`).
 */
import type { Registry } from 'prom-client';
import { serveMetrics, type MetricsEndpoint } from '../core/metrics/server.js';

/** The option, as every daemon command declares it. */
export const METRICS_OPTION = [
  '--metrics-listen <host:port>',
  'serve Prometheus metrics at http://<host:port>/metrics (no token: bind it where only Prometheus reaches)',
] as const;

/** Serves `registries` when `listen` is given, printing where; undefined otherwise. */
export async function startMetrics(
  listen: string | undefined,
  registries: readonly Registry[] | (() => readonly Registry[]),
): Promise<MetricsEndpoint | undefined> {
  if (listen === undefined) return undefined;
  const endpoint = await serveMetrics(listen, registries);
  console.log(`metrics at http://${endpoint.address}/metrics`);
  return endpoint;
}
