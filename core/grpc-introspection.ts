/**
 * What every Galaxy gRPC server answers besides its own services, so that standard tools work
 * against it: the gRPC health service (`grpc.health.v1.Health`: `grpc_health_probe`, load
 * balancers, Kubernetes' gRPC probes) and server reflection (`grpcurl list`, `grpcurl describe`).
 * Both are reachable without a token (`PUBLIC_SERVICES` in `core/auth/server.ts`): they read and
 * change nothing of the cluster, and the schema they describe ships in the package anyway.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server, ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import { packageRoot } from './paths.js';

/** The health service's full name. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

let definition: PackageDefinition | undefined;

/**
 * Galaxy's `.proto` files and the health service's, loaded once per process (a few tens of
 * milliseconds; most processes serve gRPC at most a few times).
 */
function galaxyProtos(): PackageDefinition {
  if (definition) return definition;
  const root = join(packageRoot(), 'proto');
  const files = readdirSync(join(root, 'galaxy', 'v1'))
    .filter((f) => f.endsWith('.proto'))
    .map((f) => `galaxy/v1/${f}`);
  definition = loadSync([...files, healthProtoPath], { includeDirs: [root], keepCase: true });
  return definition;
}

/**
 * Adds the health and reflection services to `server`. `services` are the full names of the
 * services it serves (`galaxy.v1.Operator`, …): each is reported SERVING, as is the server as a
 * whole (the empty name), and reflection describes exactly those (and the health service).
 */
export function addIntrospection(server: Server, services: readonly string[]): HealthImplementation {
  const status = Object.fromEntries(['', ...services].map((name) => [name, 'SERVING' as const]));
  const health = new HealthImplementation(status);
  health.addToServer(server);
  addLazyReflection(server, () => new ReflectionService(galaxyProtos(), { services: [...services, HEALTH_SERVICE] }));
  return health;
}

/**
 * Adds reflection's services to `server`, the reflection itself built at its first call: building
 * it decodes every file descriptor of Galaxy's protos once per message type, 0.3–1 s of a loaded
 * machine's CPU, and a master elected in a failover paid it before it served (issue 16), for a
 * service that `grpcurl` calls now and then.
 */
function addLazyReflection(server: Pick<Server, 'addService'>, build: () => ReflectionService): void {
  let built: Map<string, UntypedServiceImplementation> | undefined;
  const implementation = (service: string): UntypedServiceImplementation | undefined => {
    if (!built) {
      const byService = new Map<string, UntypedServiceImplementation>();
      build().addToServer({ addService: (definition, impl) => byService.set(serviceName(definition), impl) });
      built = byService;
    }
    return built.get(service);
  };
  // The services' definitions (v1 and v1alpha) from a reflection of nothing, which costs nothing.
  new ReflectionService({}).addToServer({
    addService: (definition, impl) => {
      const service = serviceName(definition);
      const handlers = Object.fromEntries(
        Object.keys(impl).map((method) => [
          method,
          (call: ServerDuplexStream<unknown, unknown>) => {
            const handler = implementation(service)?.[method] as ((call: unknown) => void) | undefined;
            handler?.(call);
          },
        ]),
      );
      server.addService(definition, handlers);
    },
  });
}

/** `grpc.reflection.v1.ServerReflection` of a service definition. */
function serviceName(definition: ServiceDefinition): string {
  return Object.values(definition)[0]?.path.split('/')[1] ?? '';
}
