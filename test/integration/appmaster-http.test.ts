/**
 * The AppMaster's own HTTP API (`galaxy appmaster --http-listen`) over a real socket: the job verbs
 * on the AppMaster's own handlers, so its authentication and ownership rules hold as over gRPC. A
 * user submits and scales her job; another user is refused (403, nothing changes); no token is
 * 401; while the AppMaster stands by every call names the leader (GALAXY_E_NOT_LEADER).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Authenticator, Principal } from '../../core/auth/principal.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { createLogger } from '../../core/logger.js';
import { GrantStore } from '../../core/tenancy/grants.js';
import { AppMaster } from '../../frameworks/appmaster/appmaster.js';
import { serveAppMasterHttp } from '../../frameworks/appmaster/http.js';
import { JOBS_PREFIX } from '../../frameworks/appmaster/store.js';

const users: Record<string, Principal> = {
  'tok-alice': { user: 'alice', admin: false, kind: 'user' },
  'tok-bob': { user: 'bob', admin: false, kind: 'user' },
};
const authenticate: Authenticator = (token) => users[token];

let coordinator: MemoryCoordinator;
let appmaster: AppMaster;
let http: ServingApi;
/** What `standby()` answers: undefined while this AppMaster leads. */
let leader: string | undefined;

async function call(method: string, path: string, token?: string, body?: unknown) {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`http://${http.address}/api/v1${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const spec = {
  name: 'alice-web',
  replicas: 1,
  resources: { cpu: { millicores: 100 }, memory: { hard: '64Mi' } },
  package: { source: 'file:///nowhere.tar.gz', version: '1', sha256: 'a'.repeat(64) },
  commands: { start: 'sleep 1000' },
};

beforeAll(async () => {
  coordinator = new MemoryCoordinator();
  appmaster = new AppMaster({
    coordinator,
    log: createLogger('appmaster', 'silent'),
    worker: () => ({ argv: ['true'], appmasters: ['127.0.0.1:1'] }),
  });
  http = await serveAppMasterHttp(appmaster, '127.0.0.1:0', () => leader, authenticate, createLogger('http', 'silent'));
  const grants = new GrantStore(coordinator);
  const verbs = ['job:create', 'job:list', 'job:update', 'job:remove', 'band:production'];
  await grants.grant('alice', 'default', verbs);
  await grants.grant('bob', 'default', verbs);
});

afterAll(async () => {
  await http.stop();
  await appmaster.detach();
  await coordinator.close();
});

describe("the AppMaster's HTTP API", { timeout: 30_000 }, () => {
  it('submits, shows and scales the caller’s own job', async () => {
    const submitted = await call('POST', '/jobs', 'tok-alice', spec);
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    expect(submitted.body).toMatchObject({ name: 'alice-web', owner: 'alice', replicas: 1 });
    const scaled = await call('POST', '/jobs/alice-web/scale', 'tok-alice', { replicas: 2 });
    expect(scaled.body).toMatchObject({ replicas: 2 });
    expect((await call('GET', '/jobs/alice-web', 'tok-alice')).body).toMatchObject({ replicas: 2 });
  });

  it("refuses another user's job with 403 and no token with 401, changing nothing", async () => {
    const before = (await coordinator.get(`${JOBS_PREFIX}/alice-web`))?.value;
    for (const [method, path, body] of [
      ['POST', '/jobs/alice-web/scale', { replicas: 5 }],
      ['DELETE', '/jobs/alice-web', undefined],
      ['POST', '/jobs/alice-web/stop', undefined],
    ] as const) {
      const refused = await call(method, path, 'tok-bob', body);
      expect(refused.status).toBe(403);
      expect(refused.body.message).toMatch(/GALAXY_E_PERMISSION_DENIED: user bob lacks job:any in pool default/);
      expect((await call(method, path, undefined, body)).status).toBe(401);
    }
    expect((await coordinator.get(`${JOBS_PREFIX}/alice-web`))?.value).toBe(before);
    expect((await call('GET', '/jobs', 'tok-bob')).body.jobs ?? []).toEqual([]);
  });

  it('names the leader while it stands by', async () => {
    leader = '10.0.0.7:5060';
    try {
      const answer = await call('GET', '/jobs', 'tok-alice');
      expect(answer.body.message).toBe('GALAXY_E_NOT_LEADER: this AppMaster is a standby; the leader is 10.0.0.7:5060');
    } finally {
      leader = undefined;
    }
  });
});
