/**
 * Attacks on the master's HTTP/JSON API (docs/security.md, "The HTTP API"), on a real `galaxy up`
 * (real processes, real sockets): the API authenticates with the gRPC server's own function and
 * calls the gRPC services' own handlers as the caller, so each rule here would fail without it.
 *
 * - no token, or an unknown one: 401 GALAXY_E_UNAUTHENTICATED, and nothing is created;
 * - a token of a kind the Operator service does not serve (an agent's join token): 403;
 * - another user's job (every verb): 403 GALAXY_E_PERMISSION_DENIED naming job:any, and the job is
 *   as it was; listings show a user only their own frameworks and tasks;
 * - garbage, oversize, poisoned or schema-violating bodies and parameters: 400 (413 for oversize)
 *   with a coded error, before any handler runs, and nothing is created;
 * - only the health and reflection services answer a gRPC call without a token.
 */
import { credentials, Client, Metadata } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protoPath as healthProto } from 'grpc-health-check';
import { startUpCluster, type UpCluster, JOB_OWNER_VERBS } from '../helpers/up-cluster.js';
import { eventually } from '../helpers/async-queue.js';

let cluster: UpCluster | undefined;

/** The running cluster (set by beforeAll). */
function up(): UpCluster {
  if (!cluster) throw new Error('the cluster did not start');
  return cluster;
}
let bobToken = '';

interface Reply {
  status: number;
  body: { code?: string; message?: string; [key: string]: unknown };
}

/** Calls the API as the holder of `token` (none: no Authorization header). */
async function call(
  method: string,
  path: string,
  token?: string,
  body?: string,
  type = 'application/json',
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = type;
  const response = await fetch(`${up().console}api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Reply['body']) : {} };
}

/**
 * A POST that declares a body of `bytes` and sends none of it, over a plain socket: the server
 * refuses it from its Content-Length before reading (413) and closes. (With the body sent, the
 * server's close races the client's writes: the answer can be lost to a reset.)
 */
function postDeclaring(path: string, token: string, bytes: number): Promise<Reply> {
  const url = new URL(`${up().console}api/v1${path}`);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, body: body ? (JSON.parse(body) as Reply['body']) : {} });
    });
    socket.write(
      `POST ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n`,
    );
  });
}

/** The admin's view of every job, without what moves on its own (pull times, messages). */
async function jobs(): Promise<unknown> {
  const reply = await call('GET', '/jobs', up().adminToken);
  expect(reply.status).toBe(200);
  const list = (reply.body.jobs ?? []) as { name: string; pods?: object[]; message?: string }[];
  return list.map((j) => ({ ...j, message: '', pods: (j.pods ?? []).map((p) => ({ ...p, updatedAt: 0 })) }));
}

/** A valid spec for a new job (the hello job's, renamed). */
async function freshSpec(name: string): Promise<Record<string, unknown>> {
  const hello = await call('GET', '/jobs/hello', up().adminToken);
  return {
    ...(JSON.parse(hello.body.specJson as string) as Record<string, unknown>),
    name,
    services: [],
    band: 'batch',
  };
}

beforeAll(async () => {
  cluster = await startUpCluster('http-api', '[22650-22699]');
  bobToken = await up().addUser('bob', 'default', JOB_OWNER_VERBS);
}, 150_000);

afterAll(async () => {
  await cluster?.stop();
}, 30_000);

describe('the HTTP API authenticates as the gRPC server does', { timeout: 60_000 }, () => {
  it('refuses every route without a token, or with an unknown one, with 401; nothing is created', async () => {
    const before = await jobs();
    const spec = JSON.stringify(await freshSpec('sneaky'));
    for (const [method, path, body] of [
      ['GET', '/agents'],
      ['GET', '/frameworks'],
      ['GET', '/tasks'],
      ['GET', '/shares'],
      ['GET', '/usage'],
      ['GET', '/events'],
      ['GET', '/events/stream'],
      ['GET', '/jobs'],
      ['GET', '/jobs/hello/pods/0/logs'],
      ['POST', '/jobs', spec],
      ['POST', '/jobs/hello/scale', '{"replicas":5}'],
      ['DELETE', '/jobs/hello'],
    ] as const) {
      for (const token of [undefined, 'gx-not-a-token-at-all']) {
        const reply = await call(method, path, token, body);
        expect(reply.status, `${method} ${path}`).toBe(401);
        expect(reply.body.code).toBe('GALAXY_E_UNAUTHENTICATED');
        expect(reply.body.message).toMatch(token ? /unknown or revoked token/ : /carries no bearer token/);
      }
    }
    expect(await jobs()).toEqual(before);
  });

  it("refuses a token of a kind the Operator service does not serve (an agent's join token) with 403", async () => {
    const made = await up().cli(up().adminToken, ['agent', 'join-token', '--uses', '1', '--master', up().master]);
    expect(made.code, made.stderr).toBe(0);
    const joinToken = made.stdout.trim().split('\n').at(-1) ?? '';
    const reply = await call('GET', '/agents', joinToken);
    expect(reply.status).toBe(403);
    expect(reply.body.message).toMatch(/GALAXY_E_PERMISSION_DENIED: agent .* may not call galaxy\.v1\.Operator/);
  });
});

describe('the HTTP API authorizes as the gRPC handlers do', { timeout: 60_000 }, () => {
  it("refuses every verb on another user's job with 403 naming job:any; the job stays as it was", async () => {
    const before = await jobs();
    const spec = JSON.stringify(await freshSpec('hello'));
    for (const [method, path, body] of [
      ['GET', '/jobs/hello'],
      ['GET', '/jobs/hello/pods/0/logs?follow=false'],
      ['PUT', '/jobs/hello', spec],
      ['POST', '/jobs/hello/scale', '{"replicas":3}'],
      ['POST', '/jobs/hello/pause'],
      ['POST', '/jobs/hello/continue'],
      ['POST', '/jobs/hello/rollback'],
      ['POST', '/jobs/hello/promote'],
      ['POST', '/jobs/hello/abort'],
      ['POST', '/jobs/hello/stop'],
      ['DELETE', '/jobs/hello'],
    ] as const) {
      const reply = await call(method, path, bobToken, body);
      expect(reply.status, `${method} ${path}`).toBe(403);
      expect(reply.body.message).toBe(
        'GALAXY_E_PERMISSION_DENIED: user bob lacks job:any in pool default to act on job "hello", which is another user\'s; ' +
          'an admin can grant it with "galaxy grant bob default job:any"',
      );
    }
    expect(await jobs()).toEqual(before);
    const list = await call('GET', '/jobs', bobToken);
    expect(list.body.jobs ?? []).toEqual([]);
  });

  it("streams a pod's output to whoever may see the job: the admin reads hello's, to its end without follow", async () => {
    const response = await fetch(`${up().console}api/v1/jobs/hello/pods/0/logs?follow=false&tail=1000`, {
      headers: { authorization: `Bearer ${up().adminToken}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await response.text();
    expect(text).toMatch(/event: galaxy-log\ndata: \{"text":".*hello-service/);
    expect(text).toMatch(/event: galaxy-log-end\n/);
    // A pod the job does not have is a coded 400 naming its pods, before any stream opens.
    const missing = await call('GET', '/jobs/hello/pods/hello-99/logs', up().adminToken);
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/job hello has no pod "hello-99"; its pods are hello-0/);
  });

  it('shows a user only their own frameworks and tasks, an admin all of them', async () => {
    const admin = await call('GET', '/frameworks', up().adminToken);
    expect(((admin.body.frameworks ?? []) as unknown[]).length).toBeGreaterThanOrEqual(3);
    expect((await call('GET', '/frameworks', bobToken)).body.frameworks ?? []).toEqual([]);
    expect(((await call('GET', '/tasks', up().adminToken)).body.tasks as unknown[]).length).toBeGreaterThanOrEqual(1);
    expect((await call('GET', '/tasks', bobToken)).body.tasks ?? []).toEqual([]);
    // Another user's ledger is the admins' to read.
    const usage = await call('GET', '/usage?user=admin&minutes=2', bobToken);
    expect(usage.status).toBe(403);
  });
});

describe('the HTTP API refuses malformed input before any handler runs', { timeout: 60_000 }, () => {
  it('answers garbage, oversize, poisoned and schema-violating requests with coded 400s (413 oversize); nothing is created', async () => {
    const before = await jobs();
    const valid = await freshSpec('bobs-job');
    const cases: [string, string, string | undefined, number, RegExp, string?][] = [
      ['POST', '/jobs', '{"name": "x",', 400, /GALAXY_E_INVALID_ARGUMENT: the request is malformed: .*JSON/],
      ['POST', '/jobs', 'name: x', 400, /GALAXY_E_INVALID_ARGUMENT: body/, 'text/plain'],
      ['POST', '/jobs', '[1,2,3]', 400, /GALAXY_E_INVALID_ARGUMENT: body/],
      ['POST', '/jobs', `{"__proto__": {"admin": true}, "name": "bobs-job"}`, 400, /GALAXY_E_INVALID_ARGUMENT/],
      ['POST', '/jobs', JSON.stringify({ ...valid, replicas: 'many' }), 400, /GALAXY_E_SPEC_INVALID/],
      ['POST', '/jobs/bobs-job/scale', '{"replicas":-1}', 400, /GALAXY_E_INVALID_ARGUMENT: body\/replicas/],
      [
        'GET',
        '/jobs/hello/pods/0/logs?stream=/etc/shadow',
        undefined,
        400,
        /GALAXY_E_INVALID_ARGUMENT: querystring\/stream/,
      ],
      ['GET', '/jobs/hello/pods/0/logs?tail=-1', undefined, 400, /GALAXY_E_INVALID_ARGUMENT: querystring\/tail/],
      ['POST', '/jobs/bobs-job/scale', '{"replicas":"5"}', 400, /GALAXY_E_INVALID_ARGUMENT: body\/replicas/],
      ['POST', '/jobs/bobs-job/scale', '{"replicas":1,"admin":true}', 400, /GALAXY_E_INVALID_ARGUMENT/],
      ['POST', '/jobs/..%2F..%2Fetc/stop', undefined, 400, /GALAXY_E_INVALID_ARGUMENT: params\/name/],
      ['GET', '/tasks?frameworkId=x&admin=1', undefined, 400, /GALAXY_E_INVALID_ARGUMENT: querystring/],
      ['GET', '/usage?minutes=100000', undefined, 400, /GALAXY_E_INVALID_ARGUMENT: querystring\/minutes/],
      ['PUT', '/jobs/hello?canary=0', '{}', 400, /GALAXY_E_INVALID_ARGUMENT: querystring\/canary/],
      ['PUT', '/jobs/hello?canary=1&force=1', '{}', 400, /GALAXY_E_INVALID_ARGUMENT: querystring/],
      ['POST', '/jobs/hello/rollback', '{"toRevision":-1}', 400, /GALAXY_E_INVALID_ARGUMENT: body\/toRevision/],
      ['POST', '/jobs/hello/pause', '{"toRevision":1}', 400, /toRevision is for rollback only, not pause/],
    ];
    const oversize = await postDeclaring('/jobs', bobToken, JSON.stringify(valid).length + (2 << 20));
    expect(oversize.status).toBe(413);
    expect(oversize.body.message).toMatch(/GALAXY_E_TOO_LARGE/);
    for (const [method, path, body, status, message, type] of cases) {
      const reply = await call(method, path, bobToken, body, type);
      expect(reply.status, `${method} ${path} ${(body ?? '').slice(0, 40)}`).toBe(status);
      expect(reply.body.message, `${method} ${path}`).toMatch(message);
      expect(reply.body.hint).toEqual(expect.any(String));
    }
    expect(await jobs()).toEqual(before);
  });
});

describe('a canary update over HTTP', { timeout: 150_000 }, () => {
  /** The admin's view of one job. */
  async function job(name: string) {
    const reply = await call('GET', `/jobs/${name}`, up().adminToken);
    expect(reply.status).toBe(200);
    return reply.body as {
      version?: string;
      pods?: { version?: string; health?: string }[];
      update?: { paused?: boolean; pausedReason?: string; canary?: number };
    };
  }
  type Job = Awaited<ReturnType<typeof job>>;
  /** Polls until `done` holds of the job; gives the job as it was then. */
  async function until(name: string, what: string, done: (j: Job) => boolean): Promise<Job> {
    return eventually(
      async () => {
        const j = await job(name);
        return done(j) ? j : undefined;
      },
      120_000,
      what,
    );
  }
  const versions = (j: Job) => (j.pods ?? []).map((p) => p.version).sort();

  it('PUT ?canary=1 holds after one pod; POST promote rolls the rest', async () => {
    const spec: Record<string, unknown> = { ...(await freshSpec('canary-web')), replicas: 2 };
    const made = await call('POST', '/jobs', up().adminToken, JSON.stringify(spec));
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    try {
      await until(
        'canary-web',
        'two healthy pods',
        (j) => (j.pods ?? []).filter((p) => p.health === 'healthy').length === 2,
      );
      const next = { ...spec, package: { ...(spec.package as object), version: '1.1.0' } };
      const updated = await call('PUT', '/jobs/canary-web?canary=1', up().adminToken, JSON.stringify(next));
      expect(updated.status, JSON.stringify(updated.body)).toBe(200);
      const held = await until('canary-web', 'the canary hold', (j) => j.update?.paused === true);
      expect(held.update?.pausedReason).toMatch(/canary: 1 pod at the new revision/);
      expect(versions(held)).toEqual([expect.any(String), expect.any(String)]);
      expect(versions(held).filter((v) => v === '1.1.0')).toHaveLength(1);
      const promoted = await call('POST', '/jobs/canary-web/promote', up().adminToken);
      expect(promoted.status, JSON.stringify(promoted.body)).toBe(200);
      const done = await until(
        'canary-web',
        'every pod at 1.1.0, the update done',
        (j) => j.update === undefined && versions(j).join() === '1.1.0,1.1.0',
      );
      expect(done.version).toBe('1.1.0');
    } finally {
      await call('DELETE', '/jobs/canary-web', up().adminToken);
    }
  });
});

describe('gRPC health and reflection', { timeout: 30_000 }, () => {
  const require = createRequire(import.meta.url);
  const reflectionProto = join(
    require.resolve('@grpc/reflection/package.json'),
    '..',
    'build/proto/grpc/reflection/v1/reflection.proto',
  );
  const load = (file: string, pkg: string[]): ServiceClientConstructor => {
    let node = loadPackageDefinition(loadSync(file, { keepCase: true, enums: String }));
    for (const part of pkg.slice(0, -1)) node = node[part] as GrpcObject;
    return node[pkg.at(-1) ?? ''] as ServiceClientConstructor;
  };

  it('answer without a token on the master and the AppMaster, while the Operator service still refuses', async () => {
    const Health = load(healthProto, ['grpc', 'health', 'v1', 'Health']);
    for (const address of [up().master, up().appmaster]) {
      const health = new Health(address, credentials.createInsecure());
      const answer = await new Promise<{ status: string }>((resolve, reject) => {
        (
          health as unknown as { Check: (r: object, cb: (e: Error | null, r: { status: string }) => void) => void }
        ).Check({ service: '' }, (error, response) => {
          if (error) reject(error);
          else resolve(response);
        });
      });
      expect(answer.status).toBe('SERVING');
      health.close();
    }
    const Reflection = load(reflectionProto, ['grpc', 'reflection', 'v1', 'ServerReflection']);
    const reflection = new Reflection(up().master, credentials.createInsecure());
    const stream = (
      reflection as unknown as {
        ServerReflectionInfo: () => NodeJS.ReadWriteStream & { write(m: object): void; end(): void };
      }
    ).ServerReflectionInfo();
    const listed = new Promise<string[]>((resolve, reject) => {
      stream.on('data', (m: { list_services_response?: { service: { name: string }[] } }) => {
        resolve((m.list_services_response?.service ?? []).map((s) => s.name));
      });
      stream.on('error', reject);
    });
    stream.write({ list_services: '' });
    const services = await listed;
    stream.end();
    reflection.close();
    expect(services).toEqual(
      expect.arrayContaining(['galaxy.v1.Operator', 'galaxy.v1.Scheduler', 'grpc.health.v1.Health']),
    );
    expect(services).not.toContain('galaxy.v1.AppMaster');
    // Everything else still needs a token.
    const operator = new Client(up().master, credentials.createInsecure());
    const refused = await new Promise<{ code?: number; details?: string }>((resolve) => {
      operator.makeUnaryRequest(
        '/galaxy.v1.Operator/ListAgents',
        () => Buffer.alloc(0),
        (b: Buffer) => b,
        {},
        new Metadata(),
        (error) => {
          resolve(error ?? {});
        },
      );
    });
    operator.close();
    expect(refused.code).toBe(16);
    expect(refused.details).toMatch(/GALAXY_E_UNAUTHENTICATED/);
  });
});
