/**
 * What every Galaxy gRPC server answers besides its own services, so that standard tools work
 * against it: the gRPC health service (`grpc.health.v1.Health`: `grpc_health_probe`, load
 * balancers, Kubernetes' gRPC probes) and server reflection (`grpcurl list`, `grpcurl describe`).
 * Both are reachable without a token (`PUBLIC_SERVICES` in `core/auth/server.ts`): they read and
 * change nothing of the cluster, and the schema they describe ships in the package anyway.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Server } from '@grpc/grpc-js';
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
  new ReflectionService(galaxyProtos(), { services: [...services, HEALTH_SERVICE] }).addToServer(server);
  return health;
}
