/**
 * Authorities, ownership and quotas of the AppMaster over real gRPC: user B cannot list, show,
 * update, scale, pause, roll back, stop, remove, recover or exec in user A's jobs without
 * `job:any`, even holding each verb's own authority (a clear denial, and the stored job does not
 * change), and can once granted; a name A's job or A's naming entries hold is taken for B (and
 * an admin), saying only that; an over-quota submit is refused with the numbers and leaves no job; a
 * scale past the quota is refused and changes nothing; remove releases the claim.
 *
 * Principals come from bearer tokens (sent by the CLI's client) checked by a test authenticator
 * handed to the API, as `galaxy appmaster` hands it the user store's; pods stay pending (no
 * master), since every check happens before anything is launched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appMasterClient, type AppMasterApi } from '../../cli/operator-client.js';
import type { Authenticator, Principal } from '../../core/auth/principal.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { createLogger } from '../../core/logger.js';
import { GrantStore } from '../../core/tenancy/grants.js';
import { claimsKey } from '../../core/tenancy/keys.js';
import { QuotaStore } from '../../core/tenancy/quotas.js';
import { serveAppMasterApi } from '../../frameworks/appmaster/api.js';
import { AppMaster } from '../../frameworks/appmaster/appmaster.js';
import { JobSpecSchema } from '../../frameworks/appmaster/spec/schema.js';
import { JOBS_PREFIX } from '../../frameworks/appmaster/store.js';
import { podTask } from '../../frameworks/appmaster/task.js';
import { publishEndpoints, resolve, type Endpoint } from '../../frameworks/sdk/naming.js';
import { UpdateControl } from '../../proto/gen/galaxy/v1/appmaster.js';
import { eventually } from '../helpers/async-queue.js';
import { refusal } from '../helpers/refusal.js';

const GiB = 1024 ** 3;
const users: Record<string, Principal> = {
  'tok-root': { user: 'root', admin: true, kind: 'user' },
  'tok-alice': { user: 'alice', admin: false, kind: 'user' },
  'tok-bob': { user: 'bob', admin: false, kind: 'user' },
};
const authenticate: Authenticator = (token) => users[token];

let coordinator: MemoryCoordinator;
let appmaster: AppMaster;
let api: ServingApi;
const clients: AppMasterApi[] = [];

/** The AppMaster's CLI client, calling with `token`. */
function as(token: string) {
  const client = appMasterClient(api.address, token);
  clients.push(client);
  return {
    submit: (spec: object) => client.submitJob({ specJson: JSON.stringify(spec) }),
    update: (spec: object) => client.updateJob({ specJson: JSON.stringify(spec) }),
    scale: (name: string, replicas: number) => client.scaleJob({ name, replicas }),
    remove: (name: string) => client.removeJob({ name }),
    stop: (name: string) => client.stopJob({ name }),
    control: (name: string, control: UpdateControl) => client.controlUpdate({ name, control }),
    recoverPod: (name: string, podId: string) => client.recoverPod({ name, podId }),
    exec: (name: string, podId: string, command: string) => client.execPod({ name, podId, command, timeoutS: 5 }),
    show: (name: string) => client.showJob({ name }),
    list: async () => (await client.listJobs({}).then((r) => r.jobs)).map((j) => j.name),
  };
}

function spec(name: string, replicas: number, extra: Record<string, unknown> = {}) {
  return {
    name,
    replicas,
    resources: { cpu: { millicores: 1000 }, memory: { hard: '1Gi' } },
    package: { source: 'file:///nowhere.tar.gz', version: '1', sha256: 'a'.repeat(64) },
    commands: { start: 'sleep 1000' },
    ...extra,
  };
}

/** An endpoint of pod 0 of `job`. */
function endpointOf(job: string): Endpoint {
  return { service: 'http', job, podId: `${job}-0`, host: 'h', port: 1, healthy: true };
}

/** The stored record of `job`, as JSON text (or undefined). */
async function stored(job: string): Promise<string | undefined> {
  await appmaster.detach();
  return (await coordinator.get(`${JOBS_PREFIX}/${job}`))?.value;
}

beforeAll(async () => {
  coordinator = new MemoryCoordinator();
  appmaster = new AppMaster({
    coordinator,
    log: createLogger('appmaster', 'silent'),
    worker: () => ({ argv: ['true'], appmasters: ['127.0.0.1:1'] }),
  });
  api = await serveAppMasterApi(appmaster, '127.0.0.1:0', undefined, authenticate);
  const grants = new GrantStore(coordinator);
  // A service job is of band production: its owner needs that band's authority in the pool.
  await grants.grant('alice', 'default', ['job:create', 'job:list', 'job:update', 'job:remove', 'band:production']);
  const verbs = ['job:create', 'job:list', 'job:update', 'job:remove', 'container:create', 'container:remove'];
  await grants.grant('bob', 'default', [...verbs, 'band:production']);
});

afterAll(async () => {
  for (const c of clients) c.close();
  await api.stop();
  await appmaster.detach();
  await coordinator.close();
});

describe('AppMaster authorities and quotas over gRPC', { timeout: 30_000 }, () => {
  it("refuses every verb on another user's job without job:any, even with the verb's authority, changing nothing", async () => {
    const alice = as('tok-alice');
    const bob = as('tok-bob');
    await alice.submit(spec('alice-web', 2));
    await bob.submit(spec('bob-web', 1));
    const before = await stored('alice-web');
    expect(JSON.parse(before ?? '{}')).toMatchObject({ owner: 'alice' });

    // bob holds every verb's authority in the pool, but not job:any: his own jobs only.
    expect(await bob.list()).toEqual(['bob-web']);
    expect(await alice.list()).toEqual(['alice-web']);
    const notHis =
      /^GALAXY_E_PERMISSION_DENIED: user bob lacks job:any in pool default to act on job "alice-web", which is another user's; an admin can grant it with "galaxy grant bob default job:any"$/;
    const attempts: [string, Promise<unknown>][] = [
      ['show', bob.show('alice-web')],
      ['update', bob.update(spec('alice-web', 2, { env: { X: '1' } }))],
      ['scale', bob.scale('alice-web', 5)],
      ['pause', bob.control('alice-web', UpdateControl.UPDATE_PAUSE)],
      ['rollback', bob.control('alice-web', UpdateControl.UPDATE_ROLLBACK)],
      ['stop', bob.stop('alice-web')],
      ['remove', bob.remove('alice-web')],
      ['recover', bob.recoverPod('alice-web', 'alice-web-0')],
      ['exec', bob.exec('alice-web', 'alice-web-0', 'id')],
    ];
    for (const [verb, attempt] of attempts) {
      const error = await refusal(attempt);
      expect(error.code, verb).toBe('GALAXY_E_PERMISSION_DENIED');
      expect(error.message, verb).toMatch(notHis);
    }
    expect(await stored('alice-web')).toBe(before);
    expect(await new QuotaStore(coordinator).claims('alice')).toEqual({
      'appmaster/alice-web': expect.objectContaining({ replicas: 2 }) as unknown,
    });

    await new GrantStore(coordinator).grant('bob', 'default', ['job:any']);
    // Grants made elsewhere are seen once the AppMaster's short cache (1 s) expires.
    await eventually(async () => (await bob.list()).includes('alice-web'), 5000, 'bob to see the job');
    expect(await bob.list()).toEqual(['alice-web', 'bob-web']);
    expect((await bob.scale('alice-web', 3)).replicas).toBe(3);
    // The claim stays the owner's, whoever scaled.
    expect((await new QuotaStore(coordinator).claims('alice'))['appmaster/alice-web']?.replicas).toBe(3);
    await bob.remove('alice-web');
    expect(await stored('alice-web')).toBeUndefined();
    expect(await coordinator.get(claimsKey('alice'))).toBeUndefined();
    // alice, without job:any, still cannot touch bob's.
    expect((await refusal(alice.scale('bob-web', 0))).message).toMatch(/user alice lacks job:any in pool default/);
    await bob.remove('bob-web');
    await new GrantStore(coordinator).revoke('bob', 'default', ['job:any']);
  });

  it("refuses a submit of a name another user's job or naming entries hold, saying only that it is taken", async () => {
    const alice = as('tok-alice');
    const bob = as('tok-bob');
    await alice.submit(spec('shared', 1));
    const before = await stored('shared');
    for (const who of [bob, as('tok-root')]) {
      const taken = await refusal(who.submit(spec('shared', 1, { env: { MINE: '1' } })));
      expect(taken.code).toBe('GALAXY_E_NAME_TAKEN');
      expect(taken.message).toBe('GALAXY_E_NAME_TAKEN: the job name "shared" is taken; choose another name');
    }
    expect(await stored('shared')).toBe(before);
    expect(await new QuotaStore(coordinator).claims('bob')).toEqual({});
    // Her own: a duplicate, with the way to change it.
    expect((await refusal(alice.submit(spec('shared', 1)))).code).toBe('GALAXY_E_JOB_DUPLICATE');
    await alice.remove('shared');
    expect((await bob.submit(spec('shared', 1))).name).toBe('shared');
    await bob.remove('shared');

    // Naming entries alice's job left (a withdrawal that failed) keep the name hers in naming.
    await publishEndpoints(coordinator, 'svc', 'svc-0', [endpointOf('svc')], { user: 'alice', uid: 'gone' });
    const hijack = await refusal(bob.submit(spec('svc', 1)));
    expect(hijack.code).toBe('GALAXY_E_NAME_TAKEN');
    expect(await stored('svc')).toBeUndefined();
    expect(await resolve(coordinator, 'svc')).toEqual([endpointOf('svc')]);
    // …and alice may reuse it.
    expect((await alice.submit(spec('svc', 1))).name).toBe('svc');
    await alice.remove('svc');
    expect(await resolve(coordinator, 'svc')).toEqual([]);
  });

  it('refuses an over-quota submit with the numbers and leaves no job; scale past the quota too', async () => {
    const alice = as('tok-alice');
    await new QuotaStore(coordinator).set('alice', { limit: { cpus: 5000, mem: 8 * GiB, replicas: 10 } });
    await alice.submit(spec('small', 2));
    const error = await refusal(alice.submit(spec('big', 4)));
    expect(error.code).toBe('GALAXY_E_QUOTA_EXCEEDED');
    expect(error.message).toContain(
      'quota exceeded for user alice: cpus requested 4 cores, used 2 cores, limit 5 cores',
    );
    expect(await stored('big')).toBeUndefined();
    expect(await alice.list()).toEqual(['small']);

    const before = await stored('small');
    const scaled = await refusal(alice.scale('small', 6));
    expect(scaled.message).toContain('cpus requested 6 cores, used 0 cores, limit 5 cores');
    expect(await stored('small')).toBe(before);
    expect((await alice.show('small')).pods).toHaveLength(2);

    // An update's footprint is the larger of old and new: 2 pods of 3 cores would pass the limit.
    const updated = await refusal(
      alice.update(spec('small', 2, { resources: { cpu: { millicores: 3000 }, memory: { hard: '1Gi' } } })),
    );
    expect(updated.message).toContain('cpus requested 6 cores');
    expect(await stored('small')).toBe(before);

    await alice.scale('small', 5);
    await alice.remove('small');
    await alice.submit(spec('big', 4));
    expect(await alice.list()).toEqual(['big']);
    await alice.remove('big');
  });

  it('counts disk volumes per medium: an ssd volume past the ssd limit is refused, leaving no job', async () => {
    const alice = as('tok-alice');
    const quotas = new QuotaStore(coordinator);
    await quotas.set('alice', { limit: { ssd: 3 * GiB, disk: 40 * GiB } });
    const volume = (medium: string, size: string) => ({
      volumes: [{ kind: 'disk', name: 'data', path: 'data', medium, size }],
    });
    await alice.submit(spec('db', 1, volume('ssd', '2GiB')));
    const error = await refusal(alice.submit(spec('db2', 1, volume('ssd', '2GiB'))));
    expect(error.code).toBe('GALAXY_E_QUOTA_EXCEEDED');
    expect(error.message).toContain('ssd requested 2GiB, used 2GiB, limit 3GiB');
    expect(await stored('db2')).toBeUndefined();
    // Another medium is not ssd; its bytes still count in disk (40GiB in all).
    await alice.submit(spec('logs', 1, volume('hdd', '30GiB')));
    const tooMuch = await refusal(alice.submit(spec('more-logs', 1, volume('hdd', '10GiB'))));
    expect(tooMuch.message).toContain('disk requested 10GiB, used 32GiB, limit 40GiB');
    const claims = await quotas.claims('alice');
    expect(claims['appmaster/db']).toMatchObject({ ssd: 2 * GiB, disk: 2 * GiB });
    expect(claims['appmaster/logs']).toMatchObject({ hdd: 30 * GiB, disk: 30 * GiB });
    expect((await quotas.show('alice')).used).toMatchObject({ ssd: 2 * GiB, hdd: 30 * GiB, tmpfs: 0 });
    await alice.remove('db');
    await alice.remove('logs');
    await quotas.clear('alice');
  });

  it('refuses a job whose band its owner lacks in the pool, storing and claiming nothing', async () => {
    const alice = as('tok-alice');
    const monitoring = await refusal(alice.submit(spec('alice-mon', 1, { band: 'monitoring' })));
    expect(monitoring.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(monitoring.message).toMatch(/user alice lacks band:monitoring in pool default/);
    expect(await stored('alice-mon')).toBeUndefined();
    expect(await alice.list()).not.toContain('alice-mon');
    // Without band:production bob may still create jobs, but his service job is refused too.
    await new GrantStore(coordinator).revoke('bob', 'default', ['band:production']);
    await new Promise((r) => setTimeout(r, 1100)); // the AppMaster trusts grants it read for a second
    const bob = as('tok-bob');
    const claimsBefore = (await coordinator.get(claimsKey('bob')))?.value;
    const service = await refusal(bob.submit(spec('bob-svc', 1)));
    expect(service.message).toMatch(/user bob lacks band:production in pool default/);
    expect(await stored('bob-svc')).toBeUndefined();
    expect((await coordinator.get(claimsKey('bob')))?.value).toEqual(claimsBefore);
    // A batch-band job needs no band authority.
    await bob.submit(spec('bob-batch', 1, { band: 'batch' }));
    expect(JSON.parse((await stored('bob-batch')) ?? '{}')).toMatchObject({ owner: 'bob' });
    await new GrantStore(coordinator).grant('bob', 'default', ['job:remove']);
    await eventually(
      async () =>
        await bob.remove('bob-batch').then(
          () => true,
          () => false,
        ),
      5000,
      'bob-batch removed',
    );
  });

  it('labels launched tasks with galaxy.user of the owner', () => {
    const task = podTask(
      'web',
      'web-0',
      'web-0.x',
      JobSpecSchema.parse(spec('web', 1)),
      {
        job: 'web',
        podId: 'web-0',
        offerId: 'o',
        agentId: 'a',
        hostname: 'h',
        ports: {},
        resources: { cpus: 1000, mem: GiB, disk: 0, gpus: 0, ports: [] },
      },
      { argv: ['true'], appmasters: ['e'] },
      'alice',
    );
    expect(task.labels).toContainEqual({ key: 'galaxy.user', value: 'alice' });
  });
});
