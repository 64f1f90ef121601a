/**
 * Authentication end to end over real gRPC: a master with users refuses calls without a token or
 * with an unknown one (UNAUTHENTICATED), keeps agents to the agent gateway (PERMISSION_DENIED on
 * the scheduler and operator APIs), lets only admins manage users, and hands handlers the
 * caller's principal. A server without an authenticator stays open.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMaster, type Master } from '../../master/master.js';
import { OperatorClient, OperatorService } from '../../proto/gen/galaxy/v1/operator.js';
import { SchedulerClient } from '../../proto/gen/galaxy/v1/scheduler.js';
import { UserAdminClient } from '../../proto/gen/galaxy/v1/users.js';
import { MemoryCoordinator } from '../coordinator/index.js';
import { serveGrpc, type ServingApi } from '../grpc-server.js';
import { UserStore } from '../tenancy/users.js';
import { AgentIdentityStore } from '../tenancy/agent-identities.js';
import { AgentIdentityAdminClient } from '../../proto/gen/galaxy/v1/agent_identity.js';
import { bearerInterceptor, clientOptions, resolveToken } from './client.js';
import { principalOf, type Principal } from './principal.js';
import { channelCredentials } from '../tls.js';

let coordinator: MemoryCoordinator;
let users: UserStore;
let identities: AgentIdentityStore;
let master: Master;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  coordinator = new MemoryCoordinator();
  users = await UserStore.open(coordinator);
  tokens.admin = (await users.add('admin', { admin: true })).token;
  tokens.alice = (await users.add('alice')).token;
  identities = await AgentIdentityStore.open(coordinator);
  tokens.agent = await identities.issueCredential('agent-1');
  master = await startMaster({ listen: '127.0.0.1:0', logLevel: 'silent', users, agentIdentities: identities });
});

afterAll(async () => {
  await master.stop();
  identities.close();
  users.close();
  await coordinator.close();
});

/** The gRPC error of a unary call (or null when it succeeded). */
function outcome(invoke: (cb: (err: ServiceError | null) => void) => unknown): Promise<ServiceError | null> {
  return new Promise((resolve) => {
    invoke((error) => {
      resolve(error);
    });
  });
}

function operator(token?: string): OperatorClient {
  return new OperatorClient(master.address, channelCredentials(), clientOptions(token));
}

describe('an authenticating master', () => {
  it('refuses a call without a token, or with an unknown one, with UNAUTHENTICATED', async () => {
    const anonymous = operator();
    const none = await outcome((cb) => anonymous.listAgents({}, cb));
    expect(none?.code).toBe(status.UNAUTHENTICATED);
    expect(none?.details).toMatch(
      /^GALAXY_E_UNAUTHENTICATED: the call to \/galaxy\.v1\.Operator\/ListAgents carries no bearer token/,
    );
    const forged = operator(`${tokens.alice ?? ''}A`);
    const bad = await outcome((cb) => forged.listAgents({}, cb));
    expect(bad?.code).toBe(status.UNAUTHENTICATED);
    expect(bad?.details).toMatch(/unknown or revoked token/);
    expect(bad?.details).not.toContain(tokens.alice);
    const malformed = new Metadata();
    malformed.set('authorization', 'Basic YWxpY2U6cHc=');
    expect((await outcome((cb) => anonymous.listAgents({}, malformed, cb)))?.code).toBe(status.UNAUTHENTICATED);
    anonymous.close();
    forged.close();
  });

  it('answers a user with a valid token', async () => {
    const client = operator(tokens.alice);
    expect(await outcome((cb) => client.listAgents({}, cb))).toBeNull();
    client.close();
  });

  it('keeps an agent token to the agent gateway', async () => {
    const scheduler = new SchedulerClient(master.address, channelCredentials(), clientOptions(tokens.agent));
    const denied = await outcome((cb) => scheduler.call({ frameworkId: 'f', call: undefined }, cb));
    expect(denied?.code).toBe(status.PERMISSION_DENIED);
    expect(denied?.details).toMatch(/^GALAXY_E_PERMISSION_DENIED: agent agent may not call galaxy\.v1\.Scheduler/);
    const admin = new AgentIdentityAdminClient(master.address, channelCredentials(), clientOptions(tokens.agent));
    expect((await outcome((cb) => admin.listAgentIdentities({}, cb)))?.code).toBe(status.PERMISSION_DENIED);
    admin.close();
    const op = operator(tokens.agent);
    expect((await outcome((cb) => op.listAgents({}, cb)))?.code).toBe(status.PERMISSION_DENIED);
    // A user's token passes authentication on the scheduler API (the call itself is then judged).
    const user = new SchedulerClient(master.address, channelCredentials(), clientOptions(tokens.alice));
    const judged = await outcome((cb) => user.call({ frameworkId: 'nope', call: undefined }, cb));
    expect(judged?.code).not.toBe(status.UNAUTHENTICATED);
    expect(judged?.code).not.toBe(status.PERMISSION_DENIED);
    scheduler.close();
    op.close();
    user.close();
  });

  it('lets only admins manage users; a new token works at once and a removed user is refused', async () => {
    const asAlice = new UserAdminClient(master.address, channelCredentials(), clientOptions(tokens.alice));
    const refused = await outcome((cb) => asAlice.addUser({ name: 'mallory', admin: true, kind: '' }, cb));
    expect(refused?.code).toBe(status.PERMISSION_DENIED);
    expect(refused?.details).toMatch(/GALAXY_E_PERMISSION_DENIED: only an admin may add users/);
    const asAdmin = new UserAdminClient(master.address, channelCredentials(), clientOptions(tokens.admin));
    const added = await new Promise<{ token: string }>((resolve, reject) => {
      asAdmin.addUser({ name: 'bob', admin: false, kind: '' }, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
    const bob = operator(added.token);
    expect(await outcome((cb) => bob.listAgents({}, cb))).toBeNull();
    const duplicate = await outcome((cb) => asAdmin.addUser({ name: 'bob', admin: false, kind: '' }, cb));
    expect(duplicate?.code).toBe(status.ALREADY_EXISTS);
    expect(await outcome((cb) => asAdmin.removeUser({ name: 'bob' }, cb))).toBeNull();
    expect((await outcome((cb) => bob.listAgents({}, cb)))?.code).toBe(status.UNAUTHENTICATED);
    for (const c of [asAlice, asAdmin, bob]) c.close();
  });
});

describe('a server built with an authenticator', () => {
  let api: ServingApi;
  let seen: Principal | undefined;

  beforeAll(async () => {
    api = await serveGrpc(
      'test API',
      '127.0.0.1:0',
      (server) => {
        server.addService(OperatorService, {
          listAgents: (
            call: Parameters<typeof principalOf>[0],
            cb: (e: null, r: { agents: []; media: [] }) => void,
          ) => {
            seen = principalOf(call, () => undefined);
            cb(null, { agents: [], media: [] });
          },
        });
      },
      { authenticate: users.authenticate },
    );
  });

  afterAll(async () => {
    await api.stop();
  });

  it('records the principal where handlers find it', async () => {
    const client = new OperatorClient(api.address, channelCredentials(), {
      interceptors: [bearerInterceptor(tokens.admin ?? '')],
    });
    expect(await outcome((cb) => client.listAgents({}, cb))).toBeNull();
    expect(seen).toEqual({ user: 'admin', admin: true, kind: 'user' });
    client.close();
  });
});

describe('an open server', () => {
  it('is never made by accident: a master without users or auth needs insecureNoAuth', async () => {
    await expect(startMaster({ listen: '127.0.0.1:0', logLevel: 'silent' })).rejects.toThrow(
      /GALAXY_E_INVALID_ARGUMENT: a master authenticates its callers: give it users \(or auth\), or set insecureNoAuth/,
    );
  });

  it('answers calls without a token, as the open principal', async () => {
    const open = await startMaster({ listen: '127.0.0.1:0', insecureNoAuth: true, logLevel: 'silent' });
    const client = new OperatorClient(open.address, channelCredentials());
    expect(await outcome((cb) => client.listAgents({}, cb))).toBeNull();
    client.close();
    await open.stop();
  });
});

describe('resolveToken', () => {
  it('takes the flag, then $GALAXY_TOKEN, then $GALAXY_TOKEN_FILE, then ./.galaxy/admin.token', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'galaxy-token-'));
    try {
      expect(resolveToken({ env: {}, cwd: dir })).toBeUndefined();
      await mkdir(join(dir, '.galaxy'));
      await writeFile(join(dir, '.galaxy', 'admin.token'), 'glx_default\n');
      expect(resolveToken({ env: {}, cwd: dir })).toBe('glx_default');
      await writeFile(join(dir, 'file.token'), 'glx_file\n');
      expect(resolveToken({ env: { GALAXY_TOKEN_FILE: join(dir, 'file.token') }, cwd: dir })).toBe('glx_file');
      expect(resolveToken({ env: { GALAXY_TOKEN: 'glx_env', GALAXY_TOKEN_FILE: 'x' }, cwd: dir })).toBe('glx_env');
      expect(resolveToken({ flag: 'glx_flag', env: { GALAXY_TOKEN: 'glx_env' }, cwd: dir })).toBe('glx_flag');
      expect(() => resolveToken({ env: { GALAXY_TOKEN_FILE: join(dir, 'missing') } })).toThrow(
        /GALAXY_E_UNAUTHENTICATED: cannot read the token file/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
