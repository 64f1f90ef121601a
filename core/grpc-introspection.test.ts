/**
 * Server reflection, built at its first call (`grpc-introspection.ts`): both versions of the
 * reflection service answer over a real socket, and describe exactly the services served.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorService } from '../proto/gen/galaxy/v1/operator.js';
import { GalaxyServer } from './grpc-server.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const require = createRequire(import.meta.url);

/** The reflection client of `version` (`v1` or `v1alpha`). */
function reflectionClient(version: string): ServiceClientConstructor {
  const file = join(
    require.resolve('@grpc/reflection/package.json'),
    '..',
    `build/proto/grpc/reflection/${version}/reflection.proto`,
  );
  let node = loadPackageDefinition(loadSync(file, { keepCase: true, enums: String }));
  for (const part of ['grpc', 'reflection', version]) node = node[part] as GrpcObject;
  return node.ServerReflection as ServiceClientConstructor;
}

interface ReflectionAnswer {
  list_services_response?: { service: { name: string }[] };
  file_descriptor_response?: { file_descriptor_proto: Buffer[] };
  error_response?: { error_code: number };
}

/** Sends one request on a reflection stream of `address` and resolves with the answer. */
async function ask(address: string, version: string, request: object): Promise<ReflectionAnswer> {
  const Reflection = reflectionClient(version);
  const client = new Reflection(address, credentials.createInsecure());
  cleanups.push(() => {
    client.close();
  });
  const stream = (
    client as unknown as {
      ServerReflectionInfo: () => NodeJS.ReadWriteStream & { write(m: object): void; end(): void };
    }
  ).ServerReflectionInfo();
  const answer = new Promise<ReflectionAnswer>((resolve, reject) => {
    stream.on('data', resolve);
    stream.on('error', reject);
  });
  stream.write(request);
  const result = await answer;
  stream.end();
  return result;
}

describe('server reflection', { timeout: 30_000 }, () => {
  it('lists exactly the served services and describes their symbols, in v1 and v1alpha', async () => {
    const server = new GalaxyServer('test API');
    server.grpc.addService(OperatorService, {});
    const address = await server.listen('127.0.0.1:0');
    cleanups.push(() => server.stop());
    for (const version of ['v1', 'v1alpha']) {
      const listed = await ask(address, version, { list_services: '' });
      const names = (listed.list_services_response?.service ?? []).map((s) => s.name).sort();
      expect(names).toEqual(['galaxy.v1.Operator', 'grpc.health.v1.Health']);
      const file = await ask(address, version, { file_containing_symbol: 'galaxy.v1.Operator' });
      expect(file.file_descriptor_response?.file_descriptor_proto.length).toBeGreaterThan(0);
      const unknown = await ask(address, version, { file_containing_symbol: 'galaxy.v1.NoSuchThing' });
      expect(unknown.error_response?.error_code).toBeGreaterThan(0);
    }
  });
});
