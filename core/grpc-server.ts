/**
 * Every gRPC server of Galaxy is built here, so that every one applies the same limits
 * (`core/grpc-limits.ts`: message size in and out, concurrent streams per connection, keepalive
 * and idle timeouts, a cap on connections) and the same authentication (`core/auth/server.ts`).
 */
import { createServer, type Server as NetServer } from 'node:net';
import { Server } from '@grpc/grpc-js';
import { serverAuthOptions, type ServerAuth } from './auth/server.js';
import { ConnectionCap } from './connection-cap.js';
import { addIntrospection } from './grpc-introspection.js';
import { GalaxyError } from './errors.js';
import { boundAddress } from './grpc-errors.js';
import { grpcServerOptions, processConnectionBudget, serverLimits, type ServerLimits } from './grpc-limits.js';
import { createLogger, type Logger } from './logger.js';
import { serverCredentials, type ServerTls } from './tls.js';

/** A listening server. */
export interface ServingApi {
  /** `host:port` clients reach it at. */
  readonly address: string;
  /** Stops accepting calls and resolves when the in-flight ones have ended. */
  stop(): Promise<void>;
}

/** How a server is built. */
export interface ServerOptions {
  /** Every call must carry a valid bearer token (see `core/auth/server.ts`); without, the server is open. */
  readonly auth?: ServerAuth;
  /** Overrides of the default limits. */
  readonly limits?: Partial<ServerLimits>;
  /** Where refusals at the connection cap are reported. */
  readonly log?: Logger;
  /** Serve TLS with these files (`core/tls.ts`); without, plaintext. */
  readonly tls?: ServerTls;
}

/** `host:port` (or `[v6]:port`) → host and port for `net.listen`. */
function parseListen(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  const port = Number(listen.slice(colon + 1));
  if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `"${listen}" is not host:port`);
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** A gRPC server with Galaxy's limits and authentication; add services to {@link grpc}, then {@link listen}. */
export class GalaxyServer {
  /** The grpc-js server: add services here. */
  readonly grpc: Server;
  /** The limits it applies. */
  readonly limits: ServerLimits;
  private readonly cap: ConnectionCap;
  private net: NetServer | undefined;
  /** Full names of the services added so far (for health and reflection). */
  private readonly served = new Set<string>();

  constructor(
    /** The server's name in errors and logs, e.g. `master` or `AppMaster API`. */
    readonly what: string,
    private readonly options: ServerOptions = {},
  ) {
    this.limits = serverLimits(options.limits);
    this.cap = new ConnectionCap(
      what,
      this.limits.maxConnections,
      processConnectionBudget(),
      options.log ?? createLogger('server'),
    );
    const { interceptors } = serverAuthOptions(options.auth);
    // The cap's interceptor wraps the call first, so it sees every call end, refusals included.
    this.grpc = new Server({
      ...grpcServerOptions(this.limits),
      interceptors: [this.cap.interceptor(), ...interceptors],
    });
    // Every service added is recorded, so that health and reflection describe exactly these.
    const addService = this.grpc.addService.bind(this.grpc);
    this.grpc.addService = (service, implementation) => {
      for (const method of Object.values(service)) this.served.add(method.path.split('/')[1] ?? '');
      addService(service, implementation);
    };
  }

  /** Connections held now. */
  get connections(): number {
    return this.cap.size;
  }

  /**
   * Listens on `listen` (`host:port`, port 0 = any) and resolves with `host:port` clients reach
   * it at. Connections go through the cap before grpc-js sees them.
   */
  async listen(listen: string): Promise<string> {
    const { host, port } = parseListen(listen);
    addIntrospection(this.grpc, [...this.served].filter(Boolean));
    const net = createServer({ noDelay: true });
    const injector = this.grpc.createConnectionInjector(serverCredentials(this.options.tls));
    this.cap.listen(net, (socket) => {
      injector.injectConnection(socket);
    });
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        reject(new GalaxyError('GALAXY_E_UNAVAILABLE', `${this.what} cannot listen on ${listen}: ${error.message}`));
      };
      net.once('error', fail);
      net.listen({ host, port }, () => {
        net.off('error', fail);
        resolve();
      });
    });
    // After listening, an error is an accept that failed (EMFILE): the server keeps serving.
    net.on('error', (error) => {
      (this.options.log ?? createLogger('server')).warn(
        { server: this.what, err: error.message },
        'accepting a connection failed',
      );
    });
    this.net = net;
    const address = net.address();
    return boundAddress(listen, typeof address === 'object' && address ? address.port : port);
  }

  /** Drops the connection a call came on (`call.getPeer()`); true when it was held. */
  disconnect(peer: string): boolean {
    return this.cap.disconnect(peer);
  }

  /** Stops accepting and ends every connection at once; calls in flight fail. */
  forceStop(): void {
    this.net?.close();
    this.grpc.forceShutdown();
  }

  /** Stops accepting, lets calls in flight end (at most 2 s), then closes what is left. */
  stop(): Promise<void> {
    this.net?.close();
    return new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.grpc.forceShutdown();
        resolve();
      }, 2000);
      force.unref();
      this.grpc.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }
}

/**
 * Builds a server with the services `register` adds and listens on `listen` (`host:port`, port
 * 0 = any). With `auth` every call must carry a valid bearer token; without, the server is open.
 * With `tls` (in `options`) it serves TLS (see `core/tls.ts`); without, plaintext.
 */
export async function serveGrpc(
  what: string,
  listen: string,
  register: (server: Server) => void,
  auth?: ServerAuth,
  options: Omit<ServerOptions, 'auth'> = {},
): Promise<ServingApi> {
  const server = new GalaxyServer(what, { ...options, ...(auth ? { auth } : {}) });
  register(server.grpc);
  const address = await server.listen(listen);
  return { address, stop: () => server.stop() };
}
