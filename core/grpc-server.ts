/**
 * Starts a gRPC server for a framework's or daemon's own API.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { serverAuthOptions, type ServerAuth } from './auth/server.js';
import { GalaxyError } from './errors.js';
import { boundAddress } from './grpc-errors.js';

/** A listening server. */
export interface ServingApi {
  /** `host:port` clients reach it at. */
  readonly address: string;
  /** Stops accepting calls and resolves when the in-flight ones have ended. */
  stop(): Promise<void>;
}

/**
 * Binds a server on `listen` (`host:port`, port 0 = any) with the services `register` adds. With
 * `auth` every call must carry a valid bearer token (see `core/auth/server.ts`); without, the
 * server is open.
 */
export async function serveGrpc(
  what: string,
  listen: string,
  register: (server: Server) => void,
  auth?: ServerAuth,
): Promise<ServingApi> {
  const server = new Server(serverAuthOptions(auth));
  register(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, ServerCredentials.createInsecure(), (error, bound) => {
      if (error)
        reject(new GalaxyError('GALAXY_E_UNAVAILABLE', `${what} cannot listen on ${listen}: ${error.message}`));
      else resolve(bound);
    });
  });
  return {
    address: boundAddress(listen, port),
    stop: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
