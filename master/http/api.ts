/**
 * The master's HTTP API and web console (`galaxy master --http-listen`): the cluster reads
 * (`cluster-routes.ts`), the AppMaster's job verbs through the AppMaster leader
 * (`appmaster-gateway.ts`), a pod's output (`log-routes.ts`), `/api/openapi.json`, the console's
 * files at `/`, and `/metrics` when a renderer is given (the master gives its
 * own; it needs a token, as the API does: the metrics name roles). Same tokens, same authorization and same TLS as the
 * master's gRPC port.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServerAuth } from '../../core/auth/server.js';
import { registerConsole } from '../../core/http/console-assets.js';
import { registerJobRoutes } from '../../core/http/job-routes.js';
import { API_PREFIX, createHttpApi, listenHttp } from '../../core/http/server.js';
import { StreamBudget } from '../../core/http/sse.js';
import type { Logger } from '../../core/logger.js';
import type { ServerTls } from '../../core/tls.js';
import { AppMasterGateway } from './appmaster-gateway.js';
import { operatorAs, registerClusterRoutes } from './cluster-routes.js';
import type { EventFeed } from './event-feed.js';
import { registerLogRoutes, type TaskLogs } from './log-routes.js';
import type { Principal } from '../../core/auth/principal.js';

/**
 * Renders the master's Prometheus exposition (prom-client's `register.metrics()`
 * and `register.contentType`). Given, the API serves it at `/metrics`, outside `/api/v1`, so
 * that Prometheus scrapes it as it scrapes Mesos' and Nomad's API ports.
 */
export type MetricsRenderer = () => Promise<{ readonly contentType: string; readonly body: string }>;

/** How the master serves HTTP. */
export interface MasterHttpOptions {
  /** `host:port` (`--http-listen`). */
  readonly listen: string;
  /**
   * Where the job routes find the AppMaster: a coordinator URL (its election) or `host:port`
   * (`--appmaster`); default, the master's own coordinator. None: the job routes answer
   * GALAXY_E_UNAVAILABLE.
   */
  readonly appmaster?: string;
  readonly metrics?: MetricsRenderer;
}

/** What the console learns at `/api/v1/info`: which parts this build serves. */
export interface ApiInfo {
  readonly service: 'master' | 'appmaster';
  readonly features: {
    /** A pod's output, followed (`log-routes.ts`): needs the AppMaster, as the job routes do. */
    readonly logs: boolean;
    /** Jobs through the AppMaster. */
    readonly jobs: boolean;
    readonly metrics: boolean;
  };
}

/** A listening HTTP API. */
export interface ServingHttp {
  /** `host:port`. */
  readonly address: string;
  /** `http://host:port/` or `https://…`: the console's URL. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts the master's HTTP API on the master's Operator handlers. */
export async function serveMasterHttp(
  operator: UntypedServiceImplementation,
  options: MasterHttpOptions,
  server: {
    readonly auth?: ServerAuth;
    readonly tls?: ServerTls;
    readonly log: Logger;
    /** The event feed of a caller (`event-feed.ts`). */
    readonly events: (caller: Principal) => EventFeed;
    /** Reads a task's output as a caller (`log-routes.ts`). */
    readonly logs: TaskLogs;
  },
): Promise<ServingHttp> {
  const app = await createHttpApi({
    title: 'Galaxy master',
    service: 'galaxy.v1.Operator',
    ...(server.auth ? { auth: server.auth } : {}),
    ...(server.tls ? { tls: server.tls } : {}),
    log: server.log,
  });
  const streams = new StreamBudget();
  registerClusterRoutes(app, operatorAs(operator), streams, (request) => server.events(request.caller));
  const gateway = new AppMasterGateway(options.appmaster, server.tls);
  registerJobRoutes(app, (request) => gateway.forRequest(request));
  registerLogRoutes(app, (request) => gateway.forRequest(request), server.logs, streams);
  const info: ApiInfo = {
    service: 'master',
    features: {
      logs: options.appmaster !== undefined,
      jobs: options.appmaster !== undefined,
      metrics: options.metrics !== undefined,
    },
  };
  app.get(`${API_PREFIX}/info`, { schema: { tags: ['cluster'], summary: 'What this API serves' } }, () => info);
  const metrics = options.metrics;
  if (metrics)
    app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
      const { contentType, body } = await metrics();
      return reply.type(contentType).send(body);
    });
  registerConsole(app);
  const address = await listenHttp(app, options.listen);
  const scheme = server.tls?.cert ? 'https' : 'http';
  return { address, url: `${scheme}://${address}/`, stop: () => app.close() };
}
