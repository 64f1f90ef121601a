/**
 * Authorities, ownership and quotas of the batch framework over real gRPC, behind the real
 * authenticating interceptor (`core/auth/server.ts`): a user cannot see, show or cancel another
 * user's job without `job:any` (even holding `job:list` and `job:remove`), nor take its name,
 * finished or not; an over-quota submit (parallelism × per-task resources) is refused with the
 * numbers and leaves no job; a cancel releases the claim. No master: nothing is launched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../cli/batch-client.js';
import type { Authenticator, Principal } from '../../core/auth/principal.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import type { ServingApi } from '../../core/grpc-server.js';
import { createLogger } from '../../core/logger.js';
import { GrantStore } from '../../core/tenancy/grants.js';
import { QuotaStore } from '../../core/tenancy/quotas.js';
import { serveBatchApi } from '../../frameworks/batch/api.js';
import { CronRunner } from '../../frameworks/batch/cron/runner.js';
import { BatchScheduler } from '../../frameworks/batch/scheduler.js';
import { JobTenancy } from '../../frameworks/sdk/tenancy.js';
import { BatchJobSpec, BatchJobState } from '../../proto/gen/galaxy/v1/batch.js';
import { refusal } from '../helpers/refusal.js';

const GiB = 1024 ** 3;
const users: Record<string, Principal> = {
  'tok-carol': { user: 'carol', admin: false, kind: 'user' },
  'tok-dave': { user: 'dave', admin: false, kind: 'user' },
};
const authenticate: Authenticator = (token) => users[token];

let coordinator: MemoryCoordinator;
let api: ServingApi;
const clients: Batch[] = [];

function as(token: string | undefined): Batch {
  const client = new Batch(api.address, token);
  clients.push(client);
  return client;
}

const job = (name: string, parallelism: number) =>
  BatchJobSpec.fromPartial({
    name,
    command: 'sleep 100',
    completions: parallelism,
    parallelism,
    resources: { cpus: 1000, mem: GiB, disk: 0, gpus: 0, ports: [] },
  });

beforeAll(async () => {
  coordinator = new MemoryCoordinator();
  const scheduler = new BatchScheduler(createLogger('batch', 'silent'));
  scheduler.useTenancy(new JobTenancy(coordinator, 'batch'));
  const crons = new CronRunner({ jobs: scheduler, log: createLogger('batch', 'silent') });
  api = await serveBatchApi({ scheduler, crons }, '127.0.0.1:0', { authenticate });
  const grants = new GrantStore(coordinator);
  await grants.grant('carol', '*', ['job:create', 'job:list', 'job:remove']);
  await grants.grant('dave', 'default', ['job:create', 'job:list', 'job:remove']);
  await new QuotaStore(coordinator).set('carol', { limit: { cpus: 4000, replicas: 4 } });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await api.stop();
  await coordinator.close();
});

describe('batch authorities and quotas over gRPC', { timeout: 30_000 }, () => {
  it('refuses calls without a token before any handler runs', async () => {
    expect((await refusal(as(undefined).list())).code).toBe('GALAXY_E_UNAUTHENTICATED');
  });

  it("hides and protects another user's job, refuses over quota, and releases the claim on cancel", async () => {
    const carol = as('tok-carol');
    const dave = as('tok-dave');
    const submitted = await carol.submit(job('crunch', 3));
    expect(submitted.owner).toBe('carol');
    expect(await new QuotaStore(coordinator).claims('carol')).toEqual({
      'batch/crunch': { cpus: 3000, mem: 3 * GiB, disk: 0, replicas: 3, pool: 'default' },
    });

    // dave holds job:list and job:remove, but not job:any: carol's job is not his to see or end.
    expect(await dave.list()).toEqual([]);
    expect((await refusal(dave.show('crunch'))).message).toBe(
      'GALAXY_E_PERMISSION_DENIED: user dave lacks job:any in pool default to act on job "crunch", ' +
        'which is another user\'s; an admin can grant it with "galaxy grant dave default job:any"',
    );
    expect((await refusal(dave.cancel('crunch'))).message).toMatch(/user dave lacks job:any in pool default/);
    expect((await carol.show('crunch')).state).toBe(BatchJobState.BATCH_PENDING);
    // Her job's name is taken for him, and says only that.
    const taken = await refusal(dave.submit(job('crunch', 1)));
    expect(taken.code).toBe('GALAXY_E_NAME_TAKEN');
    expect(taken.message).toBe('GALAXY_E_NAME_TAKEN: the job name "crunch" is taken; choose another name');
    expect((await carol.show('crunch')).owner).toBe('carol');
    await dave.submit(job('dave-job', 1));
    expect((await dave.list()).map((j) => j.spec?.name)).toEqual(['dave-job']);

    const over = await refusal(carol.submit(job('more', 2)));
    expect(over.code).toBe('GALAXY_E_QUOTA_EXCEEDED');
    expect(over.message).toContain(
      'quota exceeded for user carol: cpus requested 2 cores, used 3 cores, limit 4 cores; replicas requested 2, used 3, limit 4',
    );
    expect((await carol.list()).map((j) => j.spec?.name)).toEqual(['crunch']);

    expect((await carol.cancel('crunch')).state).toBe(BatchJobState.BATCH_CANCELLED);
    await expect.poll(() => new QuotaStore(coordinator).claims('carol')).toEqual({});
    expect((await carol.submit(job('more', 2))).owner).toBe('carol');
    // A finished job keeps its name: its owner may reuse it, nobody else may take it over.
    expect((await refusal(dave.submit(job('crunch', 1)))).code).toBe('GALAXY_E_NAME_TAKEN');
    expect((await carol.show('crunch')).state).toBe(BatchJobState.BATCH_CANCELLED);
    expect((await carol.submit(job('crunch', 1))).owner).toBe('carol');
    await carol.cancel('crunch');

    // With job:any in the pool dave sees and ends carol's jobs too.
    await new GrantStore(coordinator).grant('dave', 'default', ['job:any']);
    await expect
      .poll(async () => (await dave.list()).map((j) => j.spec?.name), { timeout: 5000 })
      .toEqual(['crunch', 'dave-job', 'more']);
    expect((await dave.cancel('more')).state).toBe(BatchJobState.BATCH_CANCELLED);
  });
});
