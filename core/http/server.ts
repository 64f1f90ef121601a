/**
 * The HTTP/JSON API beside a gRPC server (the master's, the AppMaster's): fastify with zod route
 * schemas, from which `/api/openapi.json` is generated. It authenticates exactly as the gRPC
 * server does (`authenticateCall` of `core/auth/server.ts`: `Authorization: Bearer <token>`, the
 * same authenticator and service access), and routes call the gRPC services' own handlers as the
 * caller (`core/http/in-process.ts`), so what a caller may do is decided in one place.
 *
 * Bodies are JSON only, at most {@link HTTP_BODY_LIMIT} bytes; a malformed, oversize or
 * schema-violating request is refused with a coded error before any handler runs. Tokens are
 * never taken from a URL (URLs are logged) nor from cookies (so no request forgery from other
 * sites: a browser sends the header only when the console's own script sets it).
 */
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import { authenticateCall, type ServerAuth } from '../auth/server.js';
import { AUTHORIZATION_KEY, OPEN_PRINCIPAL, type Principal } from '../auth/principal.js';
import { GalaxyError, isGalaxyError } from '../errors.js';
import { boundAddress } from '../grpc-errors.js';
import { createLogger, type Logger } from '../logger.js';
import { httpsOptions, type ServerTls } from '../tls.js';
import { errorBody, httpStatusOf } from './errors.js';

/** Largest request body (bytes): a job spec's own bound (`core/spec/parse.ts`) plus its JSON envelope. */
export const HTTP_BODY_LIMIT = 1024 * 1024 + 4096;

/** The route prefix of the API; everything under it needs a token. */
export const API_PREFIX = '/api/v1';

/** How an HTTP API is built. */
export interface HttpApiOptions {
  /** Its name in the OpenAPI document and logs, e.g. `Galaxy master`. */
  readonly title: string;
  /**
   * The gRPC service whose access rule the API follows (`galaxy.v1.Operator` for the master):
   * a principal refused that service (an agent's, a pod's token) is refused here too.
   */
  readonly service: string;
  /** The gRPC server's authentication; without, the API is open (every caller is an admin). */
  readonly auth?: ServerAuth;
  /** Serve HTTPS with these files, as the gRPC server does (`core/tls.ts`). */
  readonly tls?: ServerTls;
  readonly log?: Logger;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of an API route (set before its handler runs). */
    caller: Principal;
  }
}

/** Builds the API's server with its hooks and the OpenAPI document; add routes, then {@link listenHttp}. */
export async function createHttpApi(options: HttpApiOptions) {
  const log = options.log ?? createLogger('http');
  const https = httpsOptions(options.tls);
  const app = Fastify({
    logger: false,
    // Followers of event streams are never idle: a stopping server ends them rather than waiting.
    forceCloseConnections: true,
    bodyLimit: HTTP_BODY_LIMIT,
    ...(https ? { https } : {}),
    // JSON parsing with prototype poisoning refused, fastify's default made explicit.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      info: {
        title: `${options.title} HTTP API`,
        version: 'v1',
        description:
          'The same calls as the gRPC API, with the same bearer tokens and the same authorization. Errors are `{ code, message, hint }` with a Galaxy error code.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  // Decorated empty (fastify shares no object between requests); every API request sets it below.
  app.decorateRequest('caller', null as unknown as Principal);
  app.addHook('onRequest', (request, _reply, done) => {
    if (!needsToken(request.url)) {
      done();
      return;
    }
    try {
      request.caller = options.auth
        ? authenticateCall(
            options.auth,
            bearerOf(request),
            options.service,
            `${request.method} ${request.url.split('?')[0]}`,
          )
        : OPEN_PRINCIPAL;
    } catch (error) {
      done(error as FastifyError);
      return;
    }
    done();
  });
  app.setErrorHandler((error: FastifyError, request, reply) => replyError(reply, coded(error), log, request));
  app.setNotFoundHandler((request, reply) =>
    replyError(
      reply,
      new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `no route ${request.method} ${request.url.split('?')[0]}`),
      log,
      request,
      404,
    ),
  );
  app.get('/api/openapi.json', { schema: { hide: true } }, () => app.swagger());
  return app;
}

/**
 * Whether a path needs a bearer token: the API, and `/metrics` (Prometheus sends one with
 * `authorization.credentials_file`); the console's files and the OpenAPI document are public.
 */
function needsToken(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return path.startsWith(`${API_PREFIX}/`) || path === '/metrics';
}

/** The bearer token of a request's `Authorization` header, or undefined. Never log it. */
function bearerOf(request: FastifyRequest): string | undefined {
  const value = request.headers[AUTHORIZATION_KEY];
  if (typeof value !== 'string') return undefined;
  return /^Bearer\s+(\S+)$/i.exec(value.trim())?.[1];
}

/** Any error a route or fastify raised, as a coded one. */
function coded(error: FastifyError): GalaxyError {
  if (isGalaxyError(error)) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation
      .slice(0, 20)
      .map((v) => `${error.validationContext ?? 'request'}${v.instancePath || ''}: ${v.message ?? 'invalid'}`);
    return new GalaxyError('GALAXY_E_INVALID_ARGUMENT', issues.join('; '));
  }
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
    return new GalaxyError('GALAXY_E_TOO_LARGE', `the request body is over ${HTTP_BODY_LIMIT} bytes`);
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500)
    return new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `the request is malformed: ${error.message}`);
  return new GalaxyError('GALAXY_E_INTERNAL', error.message);
}

/** Sends `error` as `{ code, message, hint }`; an oversize body is 413, the rest by its code. */
function replyError(reply: FastifyReply, error: GalaxyError, log: Logger, request: FastifyRequest, status?: number) {
  const code = status ?? (error.code === 'GALAXY_E_TOO_LARGE' ? 413 : httpStatusOf(error.code));
  if (code === 500) log.error({ url: request.url.split('?')[0], err: error.message }, 'HTTP API call failed');
  return reply.code(code).type('application/json').send(errorBody(error));
}

/** A built API: add routes with zod schemas to it. */
export type HttpApp = Awaited<ReturnType<typeof createHttpApi>>;

/** Listens on `listen` (`host:port`, port 0 = any) and resolves with `host:port` clients reach it at. */
export async function listenHttp(app: HttpApp, listen: string): Promise<string> {
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--http-listen "${listen}" is not host:port`);
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  try {
    await app.listen({ host, port });
  } catch (error) {
    throw new GalaxyError(
      'GALAXY_E_UNAVAILABLE',
      `the HTTP API cannot listen on ${listen}: ${(error as Error).message}`,
    );
  }
  const address = app.server.address();
  return boundAddress(listen, typeof address === 'object' && address ? address.port : port);
}
