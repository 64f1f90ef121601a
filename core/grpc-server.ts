/**
 * Starts a gRPC server for a framework's or daemon's own API.
 */
import { Server } from '@grpc/grpc-js';
import { serverAuthOptions, type ServerAuth } from './auth/server.js';
import { GalaxyError } from './errors.js';
import { boundAddress } from './grpc-errors.js';
import { serverCredentials, type ServerTls } from './tls.js';

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
 * server is open. With `tls` it serves TLS (see `core/tls.ts`); without, plaintext.
 */
export async function serveGrpc(
  what: string,
  listen: string,
  register: (server: Server) => void,
  auth?: ServerAuth,
  tls?: ServerTls,
): Promise<ServingApi> {
  const creds = serverCredentials(tls);
  const server = new Server(serverAuthOptions(auth));
  register(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(listen, creds, (error, bound) => {
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
