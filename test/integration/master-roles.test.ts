/**
 * Roles and bands on an authenticating master with tenancy state, over real gRPC (docs/security.md,
 * "Roles", "Bands and preemption"): a framework subscribes only with roles its owner holds; offers
 * carry their allocation role, one ACCEPT uses one, and its tasks run in it; UPDATE_FRAMEWORK adds
 * and drops roles (a dropped role with a live task keeps it, without offers); a framework acting
 * for users launches each task as its role's owner, whose `container:create` and band authority
 * the launch needs; PREEMPT names a role whose acting user holds the band, and takes victims in
 * the pool asked for only. Every refusal changes nothing.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../core/auth/principal.js';
import { Band } from '../../core/bands.js';
import type { FrameworkInfo, Offer, TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { CallResponse, SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { credentials } from '@grpc/grpc-js';
import { clientOptions } from '../../core/auth/client.js';
import { callUnary } from '../../core/grpc-errors.js';
import { SchedulerClient } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import { fakeAgent } from '../helpers/fake-agent.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { useTenancyMaster } from '../helpers/tenancy-master.js';

const principals: Record<string, Principal> = {
  // The fake agents register as an admin may (any agent id); agents' own credentials are tested elsewhere.
  'tok-agent': { user: 'ops-admin', admin: true, kind: 'user' },
  'tok-erin': { user: 'erin', admin: false, kind: 'user' },
  'tok-ops': { user: 'ops', admin: false, kind: 'user' },
  'tok-svc': { user: 'svc', admin: false, kind: 'user' },
  'tok-root': { user: 'root', admin: true, kind: 'user' },
};
const cell = useTenancyMaster(principals);
const MiB = 1024 ** 2;

function task(id: string, cpus = 500, band?: Band): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus, mem: 64 * MiB, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'true', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
    ...(band === undefined ? {} : { band }),
  };
}

async function agent(hostname: string, pool = 'default', cpus = 4000) {
  const a = fakeAgent(
    cell.master.address,
    {
      hostname,
      pool,
      total: { cpus, mem: 4096 * MiB, disk: 0, gpus: 0, ports: [] },
    },
    0,
    'tok-agent',
  );
  cell.closeAfter(() => {
    a.close();
  });
  await a.registered;
  return a;
}

function framework(info: Partial<FrameworkInfo>, token: string): RawFramework {
  const fw = rawFramework(cell.master.address, { name: 'fw', role: '', ...info }, true, token);
  cell.closeAfter(() => {
    fw.close();
  });
  return fw;
}

/** Every offer the framework has received so far. */
function offers(fw: RawFramework): Offer[] {
  return fw.events.items.flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers : []));
}

async function offerOf(fw: RawFramework, role: string, pool?: string): Promise<Offer> {
  const found = () => offers(fw).find((o) => o.allocationRole === role && (pool === undefined || o.pool === pool));
  await eventually(() => found() !== undefined, 10_000, `an offer of role ${role}`);
  const offer = found();
  if (!offer) throw new Error('no offer');
  return offer;
}

function accept(fw: RawFramework, offerIds: string[], tasks: TaskInfo[]): Promise<void> {
  return fw.call({
    call: {
      $case: 'accept',
      accept: { offerIds, operations: [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }] },
    },
  });
}

/** A call whose answer matters (PREEMPT's plan). */
async function callFor(token: string, call: SchedulerCall): Promise<CallResponse> {
  const client = new SchedulerClient(cell.master.address, credentials.createInsecure(), clientOptions(token));
  cell.closeAfter(() => {
    client.close();
  });
  return callUnary<CallResponse>('the master', (cb) => client.call(call, cb));
}

describe('roles', { timeout: 30_000 }, () => {
  it('subscribes only with roles the owner holds; a refused subscription stores nothing', async () => {
    await agent('h1');
    await agent('h2'); // DRF offers a whole agent to one role at a time: one for each
    const refused = framework({ roles: ['erin', 'eng'] }, 'tok-erin');
    const error = await refused.error;
    expect(error.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(error.message).toMatch(/user erin does not hold role eng/);
    expect(cell.master.ctx.frameworks.size).toBe(0);

    await cell.grants.grantRoles('erin', { roles: ['eng'] });
    await eventually(
      () => cell.master.frameworks.authorization.holder('erin').roles?.includes('eng') === true,
      5000,
      'grant',
    );
    const fw = framework({ roles: ['erin', 'eng'] }, 'tok-erin');
    const id = await fw.frameworkId;
    expect(id).toMatch(/^fw-[0-9a-f]{32}$/);
    const [mine, eng] = [await offerOf(fw, 'erin'), await offerOf(fw, 'eng')];
    expect(mine.id).toMatch(/^offer-[0-9a-f]{32}$/);
    expect(eng.frameworkId).toBe(id);
    expect(cell.master.view.frameworks()[0]).toMatchObject({ owner: 'erin', info: { roles: ['erin', 'eng'] } });
  });

  it('gives a framework without a role its owner\'s role; an admin\'s "*"', async () => {
    const erins = framework({}, 'tok-erin');
    const roots = framework({}, 'tok-root');
    await Promise.all([erins.frameworkId, roots.frameworkId]);
    // DRF offers a whole agent to one role at a time: one agent for each.
    await agent('h1');
    await agent('h2');
    expect((await offerOf(erins, 'erin')).allocationRole).toBe('erin');
    expect((await offerOf(roots, '*')).allocationRole).toBe('*');
  });

  it('launches one ACCEPT in one allocation role, its tasks in it; UPDATE_FRAMEWORK retires a role with live tasks', async () => {
    await agent('h1');
    await cell.grants.grant('erin', 'default', ['container:create', 'container:remove', 'band:production']);
    await cell.grants.grantRoles('erin', { roles: ['eng'] });
    await eventually(
      () => cell.master.frameworks.authorization.holder('erin').roles?.includes('eng') === true,
      5000,
      'grant',
    );
    // eng's limit cuts its offer to 1 cpu, so the rest of the one agent is offered to erin beside it.
    cell.master.allocator.setQuota('eng', { limit: { cpus: 1000 } });
    const fw = framework({ roles: ['erin', 'eng'] }, 'tok-erin');
    const id = await fw.frameworkId;
    const [mine, eng] = [await offerOf(fw, 'erin'), await offerOf(fw, 'eng')];
    expect(mine.agentId).toBe(eng.agentId);
    await expect(accept(fw, [mine.id, eng.id], [task('t0')])).rejects.toMatchObject({
      code: 'GALAXY_E_OFFER_MISMATCH',
      message: expect.stringMatching(/one ACCEPT uses offers of one allocation role/) as unknown,
    });
    expect(cell.master.ctx.tasks.size).toBe(0);
    await accept(fw, [eng.id], [task('t1')]);
    expect(cell.master.view.tasks(id).map((t) => [t.taskId, t.role])).toEqual([['t1', 'eng']]);

    // Adding a role the owner does not hold changes nothing.
    const update = (roles: string[]) =>
      fw.call({
        call: { $case: 'updateFramework', updateFramework: { frameworkInfo: { ...info(id), roles } } },
      });
    await expect(update(['erin', 'eng', 'ops'])).rejects.toMatchObject({ code: 'GALAXY_E_PERMISSION_DENIED' });
    expect(cell.master.ctx.clients.roles(id)).toEqual(['erin', 'eng']);

    // Dropping eng while t1 runs there: no more eng offers, t1 keeps its resources.
    await update(['erin', 'erin/batch']);
    expect(cell.master.ctx.clients.roles(id)).toEqual(['erin', 'erin/batch']);
    expect(cell.master.ctx.clients.hasClient(id, 'eng')).toBe(true);
    // What erin holds in offers goes back, and only the new role asks: it gets it, eng nothing.
    fw.events.clear();
    await fw.call({ call: { $case: 'suppress', suppress: { roles: ['erin'] } } });
    const outstanding = [...cell.master.ctx.offers.all()].filter((o) => o.frameworkId === id).map((o) => o.id);
    expect(outstanding.length).toBeGreaterThan(0);
    await fw.call({ call: { $case: 'decline', decline: { offerIds: outstanding, filters: { refuseSeconds: 0 } } } });
    await offerOf(fw, 'erin/batch');
    expect(offers(fw).some((o) => o.allocationRole === 'eng')).toBe(false);
    expect(cell.master.view.tasks(id)[0]?.state).toBeDefined();
    // Once t1 ends the retired role leaves the allocator.
    await fw.call({ call: { $case: 'kill', kill: { taskId: 't1', agentId: '' } } });
    await eventually(() => !cell.master.ctx.clients.hasClient(id, 'eng'), 5000, 'the retired role to go');
    expect(cell.master.frameworks.registry.get(id)).toMatchObject({ owner: 'erin', roles: ['erin', 'erin/batch'] });
  });

  it("launches a shared framework's task as its role's owner: that user's container:create and band", async () => {
    await agent('h1');
    // svc may not act for users yet: it cannot subscribe with erin's role.
    expect((await framework({ roles: ['erin'] }, 'tok-svc').error).code).toBe('GALAXY_E_PERMISSION_DENIED');
    await cell.grants.grantRoles('svc', { actForUsers: true });
    await eventually(() => cell.master.frameworks.authorization.holder('svc').actForUsers === true, 5000, 'grant');
    const shared = framework({ roles: ['erin', 'ops'] }, 'tok-svc');
    const id = await shared.frameworkId;
    // svc's own authorities do not matter; erin's do.
    await cell.grants.grant('svc', '*', ['container:create', 'band:production', 'band:monitoring']);
    const forErin = await offerOf(shared, 'erin');
    await expect(accept(shared, [forErin.id], [task('e1')])).rejects.toMatchObject({
      message: expect.stringMatching(/user erin lacks container:create in pool default/) as unknown,
    });
    await cell.grants.grant('erin', 'default', ['container:create']);
    await expect(accept(shared, [forErin.id], [task('e1')])).rejects.toMatchObject({
      message: expect.stringMatching(/user erin lacks band:production in pool default/) as unknown,
    });
    // A batch-band task needs no band authority.
    await accept(shared, [forErin.id], [task('e1', 500, Band.BAND_BATCH)]);
    const forOps = await offerOf(shared, 'ops');
    await expect(accept(shared, [forOps.id], [task('o1', 500, Band.BAND_BATCH)])).rejects.toMatchObject({
      message: expect.stringMatching(/user ops lacks container:create/) as unknown,
    });
    expect(cell.master.view.tasks(id).map((t) => [t.taskId, t.role])).toEqual([['e1', 'erin']]);
    // The ledger counts e1 as erin's.
    const e1 = cell.master.view.tasks(id)[0];
    if (!e1) throw new Error('no task');
    expect(cell.master.accounting.userOf(e1)).toBe('erin');
  });
});

describe('bands and preemption', { timeout: 30_000 }, () => {
  it('honours PREEMPT only for a role whose acting user holds the band in the pool, with victims in that pool', async () => {
    const inDefault = await agent('d1', 'default', 1000);
    const inGpu = await agent('g1', 'gpu', 1000);
    await cell.grants.grant('ops', '*', ['container:create', 'container:remove']);
    // ops fills both pools with best-effort work.
    const filler = framework({ name: 'filler' }, 'tok-ops');
    for (const pool of ['default', 'gpu']) {
      const offer = await offerOf(filler, 'ops', pool);
      await accept(filler, [offer.id], [task(`be-${pool}`, 1000, Band.BAND_BEST_EFFORT)]);
    }
    await eventually(() => inDefault.running.size === 1 && inGpu.running.size === 1, 5000, 'both filled');

    await cell.grants.grantRoles('erin', { roles: ['eng'] });
    await eventually(
      () => cell.master.frameworks.authorization.holder('erin').roles?.includes('eng') === true,
      5000,
      'grant',
    );
    const fw = framework({ roles: ['erin', 'eng'] }, 'tok-erin');
    const frameworkId = await fw.frameworkId;
    const preempt = (band: Band, pool: string, role: string) =>
      callFor('tok-erin', {
        frameworkId,
        call: {
          $case: 'preempt',
          preempt: {
            requestId: `r-${band}-${pool}-${role}`,
            resources: { cpus: 500, mem: 64 * MiB, disk: 0, gpus: 0, ports: [] },
            pool,
            labels: {},
            band,
            reason: 'test',
            role,
            dryRun: false,
            assumePreempted: [],
          },
        },
      });
    await expect(preempt(Band.BAND_PRODUCTION, 'gpu', '')).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_ARGUMENT',
      message: expect.stringMatching(/preempt.role must name one of them/) as unknown,
    });
    await expect(preempt(Band.BAND_MONITORING, 'gpu', 'erin')).rejects.toMatchObject({
      code: 'GALAXY_E_PERMISSION_DENIED',
      message: expect.stringMatching(/user erin lacks band:monitoring in pool gpu/) as unknown,
    });
    await cell.grants.grant('erin', 'default', ['band:monitoring']);
    // Held in default, not in gpu: still refused there.
    await expect(preempt(Band.BAND_MONITORING, 'gpu', 'erin')).rejects.toMatchObject({
      code: 'GALAXY_E_PERMISSION_DENIED',
    });
    expect(inGpu.raw.received.items.some((m) => m.message?.$case === 'killTask')).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(inGpu.running.size).toBe(1);

    const plan = (await preempt(Band.BAND_MONITORING, 'default', 'erin')).preemption;
    expect(plan).toMatchObject({ granted: true, victims: [{ taskId: 'be-default' }] });
    await eventually(() => inDefault.running.size === 0, 5000, 'the victim to end');
    // The other pool's task is untouched; the set-aside offer is of the role that asked.
    expect(inGpu.running.size).toBe(1);
    const setAside = await offerOf(fw, 'erin', 'default');
    expect(setAside.agentId).toBe(plan?.agentId);
  });
});

function info(id: string): FrameworkInfo {
  return { id, name: 'fw', role: '', roles: [], user: '', failoverTimeoutS: 0, hostname: '' };
}
