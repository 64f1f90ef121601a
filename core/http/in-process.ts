/**
 * Calls a gRPC service's own handlers in-process, as a given principal: the HTTP API runs the
 * very handlers the gRPC server runs (the same authorization inside them, the same validation,
 * the same coded errors), without a loopback connection and so without needing a client
 * certificate of its own when the gRPC server requires mutual TLS.
 */
import { Metadata, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { GalaxyError, parseGalaxyError } from '../errors.js';
import { setPrincipal, type Principal } from '../auth/principal.js';
import type { PromiseClient } from '../promise-client.js';

/** A generated service definition: method name → definition. */
type ServiceDefinitionLike = Readonly<
  Record<string, { readonly path: string; readonly requestStream: boolean; readonly responseStream: boolean }>
>;

/** The part of a grpc-js unary call Galaxy's handlers read: the request, its metadata, the peer. */
interface InProcessCall {
  readonly request: unknown;
  readonly metadata: Metadata;
  readonly cancelled: boolean;
  getPeer(): string;
  getPath(): string;
  getDeadline(): number;
  on(): void;
  sendMetadata(): void;
}

type UnaryImplementation = (
  call: InProcessCall,
  callback: (error: { details?: string } | null, response?: unknown) => void,
) => void;

/**
 * The unary methods of `implementation` (a service implementation as given to `addService`) as
 * promises called as `caller`, typed like the network client of the same service
 * (`core/promise-client.ts`). A refusal rejects with the handler's coded {@link GalaxyError}.
 *
 * @param peer - how the calls' peer reads in logs, e.g. `http 127.0.0.1:50412`
 */
export function inProcessClient<S extends ServiceDefinitionLike>(
  service: S,
  implementation: UntypedServiceImplementation,
  caller: Principal,
  peer = 'http',
): PromiseClient<S> {
  const methods: Record<string, unknown> = { close: () => undefined };
  for (const [name, definition] of Object.entries(service)) {
    if (definition.requestStream || definition.responseStream) continue;
    const handler = implementation[name] as UnaryImplementation | undefined;
    if (!handler) continue;
    methods[name] = (request: unknown) =>
      new Promise((resolve, reject) => {
        const metadata = new Metadata();
        setPrincipal(metadata, caller);
        const call: InProcessCall = {
          request,
          metadata,
          cancelled: false,
          getPeer: () => peer,
          getPath: () => definition.path,
          getDeadline: () => Infinity,
          on: () => undefined,
          sendMetadata: () => undefined,
        };
        handler(call, (error, response) => {
          if (!error) resolve(response);
          else
            reject(
              parseGalaxyError(error.details ?? '') ??
                new GalaxyError('GALAXY_E_INTERNAL', error.details ?? 'the handler failed without a message'),
            );
        });
      });
  }
  return methods as PromiseClient<S>;
}
