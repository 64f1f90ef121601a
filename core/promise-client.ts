/**
 * One typed promise client for every gRPC service Galaxy generates: each unary method of the
 * service definition becomes `method(request): Promise<response>`, and a failed call rejects with
 * the coded {@link GalaxyError} (`core/grpc-errors.ts`), naming the server. Streaming methods are
 * left out: their callers use the generated client.
 *
 * Types come from the service definition itself (`OperatorService`, `AppMasterService`, …), so a
 * new RPC in a `.proto` is callable after `npm run gen` with nothing written by hand.
 */
import { Client, type ChannelCredentials, type ClientOptions, type ServiceError } from '@grpc/grpc-js';
import { fromGrpcError } from './grpc-errors.js';

/** The part of a generated method definition a unary call needs. */
interface UnaryMethod<Req, Res> {
  readonly path: string;
  readonly requestStream: false;
  readonly responseStream: false;
  readonly requestSerialize: (value: Req) => Buffer;
  readonly responseDeserialize: (value: Buffer) => Res;
}

/** A generated service definition: method name → definition. */
type ServiceDefinitionLike = Readonly<
  Record<string, { readonly requestStream: boolean; readonly responseStream: boolean }>
>;

/** The promise form of method definition `M`, or never for a streaming one. */
type PromiseMethod<M> = M extends UnaryMethod<infer Req, infer Res> ? (request: Req) => Promise<Res> : never;

/** The unary methods of service `S` as promises, and `close()` for the channel. */
export type PromiseClient<S> = {
  readonly [K in keyof S as PromiseMethod<S[K]> extends never ? never : K]: PromiseMethod<S[K]>;
} & {
  /** Closes the channel. */
  close(): void;
};

/**
 * A promise client of `service` at `address`.
 *
 * @param target - how errors name the server, e.g. `the master at 127.0.0.1:5050`.
 */
export function promiseClient<S extends ServiceDefinitionLike>(
  service: S,
  address: string,
  credentials: ChannelCredentials,
  options: Partial<ClientOptions>,
  target = address,
): PromiseClient<S> {
  const client = new Client(address, credentials, options);
  const methods: Record<string, unknown> = {
    close: () => {
      client.close();
    },
  };
  for (const [name, definition] of Object.entries(service)) {
    if (definition.requestStream || definition.responseStream) continue;
    const method = definition as UnaryMethod<unknown, unknown>;
    methods[name] = (request: unknown) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          (error: ServiceError | null, response?: unknown) => {
            if (error) reject(fromGrpcError(error, target));
            else resolve(response);
          },
        );
      });
  }
  return methods as PromiseClient<S>;
}
