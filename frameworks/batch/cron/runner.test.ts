/**
 * The cron runner over the real batch scheduler and an in-memory coordinator, with the clock
 * injected (no master: runs are admitted and stored, and the test ends them): runs are submitted as
 * the cron job's owner (authorities and quota at each run), history limits forget old runs, Replace
 * cancels the active run, Forbid waits, a new leader adopts a run its predecessor started but did
 * not record (even one a later time superseded), and a cron job's verbs follow the ownership rules.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../../core/auth/principal.js';
import { MemoryCoordinator } from '../../../core/coordinator/memory.js';
import { createLogger } from '../../../core/logger.js';
import { BatchJobSpec, BatchJobState, CronSchedule } from '../../../proto/gen/galaxy/v1/batch.js';
import { RecordStore } from '../../sdk/records.js';
import { JobTenancy } from '../../sdk/tenancy.js';
import { BatchScheduler, JOBS_PREFIX } from '../scheduler.js';
import { batchSpecFromProto } from '../spec/parse.js';
import { CRONS_PREFIX, CronRunner, MAX_CRON_JOBS } from './runner.js';

const log = createLogger('cron', 'silent');
const alice: Principal = { user: 'alice', admin: false, kind: 'user' };
const bob: Principal = { user: 'bob', admin: false, kind: 'user' };
const T0 = Date.parse('2025-01-01T00:00:00Z');

/** A framework's worth of state on `coordinator`, with the clock at `clock.now`. */
function framework(coordinator: MemoryCoordinator, clock: { now: number }) {
  const now = () => clock.now;
  const tenancy = new JobTenancy(coordinator, 'batch');
  const jobs = new BatchScheduler(log, { store: new RecordStore(coordinator, JOBS_PREFIX, log), now });
  jobs.useTenancy(tenancy);
  const crons = new CronRunner({
    jobs,
    log,
    store: new RecordStore(coordinator, CRONS_PREFIX, log),
    tenancy,
    principalOf: (user) => (user === 'alice' ? alice : user === 'bob' ? bob : undefined),
    now,
  });
  return { jobs, crons, tenancy, coordinator };
}

const spec = (name: string, fields: Partial<BatchJobSpec> = {}) =>
  BatchJobSpec.fromPartial({
    name,
    command: 'true',
    resources: { cpus: 100, mem: 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    ...fields,
  });
const every = (cron: string, fields: Partial<CronSchedule> = {}) => CronSchedule.fromPartial({ cron, ...fields });

/** Ticks at `at` and waits for the steps it started. */
async function tickAt(runner: CronRunner, clock: { now: number }, at: number): Promise<void> {
  clock.now = at;
  runner.tick(at);
  await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * A leader that created cron job `name` (every minute, 90 s starting deadline), started its 00:01
 * run and died before recording it in the cron job; returns its successor on the same coordinator,
 * recovered and attached.
 */
async function afterUnrecordedRun(name: string, clock: { now: number }): Promise<ReturnType<typeof framework>> {
  const coordinator = new MemoryCoordinator();
  const old = framework(coordinator, clock);
  await old.tenancy.grants.grant('alice', 'default', ['job:create', 'job:list']);
  await old.jobs.recover();
  await old.crons.recover();
  old.crons.attach();
  await old.crons.create(spec(name), every('* * * * *', { startingDeadlineS: 90 }), alice);
  await old.jobs.admit(batchSpecFromProto(spec(`${name}-1735689660`)), alice, {
    cron: name,
    scheduledAt: T0 + 60_000,
  });
  await old.jobs.detach();
  await old.crons.detach();
  const next = framework(coordinator, clock);
  await next.jobs.recover();
  await next.crons.recover();
  next.crons.attach();
  return next;
}

describe('the cron runner', () => {
  it('submits each run as its owner, keeps the history limits and forgets older runs', async () => {
    const coordinator = new MemoryCoordinator();
    const clock = { now: T0 };
    const { jobs, crons, tenancy } = framework(coordinator, clock);
    await tenancy.grants.grant('alice', 'default', ['job:create', 'job:list', 'job:remove', 'job:update']);
    await crons.recover();
    crons.attach();
    const created = await crons.create(
      spec('tick'),
      every('* * * * *', { successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 }),
      alice,
    );
    expect(created).toMatchObject({ owner: 'alice', nextRunAt: (T0 + 60_000) / 1000, active: [], history: [] });

    await tickAt(crons, clock, T0 + 60_000);
    const first = jobs.get('tick-1735689660');
    expect(first).toMatchObject({ owner: 'alice', origin: { cron: 'tick', scheduledAt: T0 + 60_000 } });
    expect(await tenancy.quotas.claims('alice')).toHaveProperty(['batch/tick-1735689660']);
    if (first) await jobs.end(first, BatchJobState.BATCH_SUCCEEDED, '');
    await tickAt(crons, clock, T0 + 120_000);
    const second = jobs.get('tick-1735689720');
    if (second) await jobs.end(second, BatchJobState.BATCH_FAILED, 'boom');
    await tickAt(crons, clock, T0 + 180_000);
    const third = jobs.get('tick-1735689780');
    if (third) await jobs.end(third, BatchJobState.BATCH_SUCCEEDED, '');
    await tickAt(crons, clock, T0 + 190_000);

    const shown = await crons.show('tick', alice);
    expect(shown.history.map((r) => [r.job, BatchJobState[r.state]])).toEqual([
      ['tick-1735689780', 'BATCH_SUCCEEDED'],
      ['tick-1735689720', 'BATCH_FAILED'],
    ]);
    // The older success went past the limit of 1: its job is forgotten, stored nowhere.
    expect(jobs.get('tick-1735689660')).toBeUndefined();
    expect(await coordinator.get(`${JOBS_PREFIX}/tick-1735689660`)).toBeUndefined();
    expect(shown.lastScheduledAt).toBe((T0 + 180_000) / 1000);
  });

  it('checks the owner at each run: a run beyond the quota is not started and says why', async () => {
    const coordinator = new MemoryCoordinator();
    const clock = { now: T0 };
    const { jobs, crons, tenancy } = framework(coordinator, clock);
    await tenancy.grants.grant('alice', 'default', ['job:create', 'job:list']);
    await tenancy.quotas.set('alice', { limit: { cpus: 150 } });
    await crons.recover();
    crons.attach();
    await crons.create(spec('big', { parallelism: 2, completions: 2 }), every('* * * * *'), alice);
    await tickAt(crons, clock, T0 + 60_000);
    expect(jobs.get('big-1735689660')).toBeUndefined();
    const shown = await crons.show('big', alice);
    expect(shown.missed).toBe(1);
    expect(shown.message).toMatch(
      /^the run of 2025-01-01T00:01:00.000Z was not started: GALAXY_E_QUOTA_EXCEEDED: quota exceeded for user alice/,
    );
    // Her authority revoked: the next run is refused for that.
    await tenancy.quotas.set('alice', { limit: { cpus: 10_000 } });
    await tenancy.grants.revoke('alice', 'default', ['job:create']);
    await tickAt(crons, clock, T0 + 120_000);
    expect((await crons.show('big', alice)).message).toMatch(/GALAXY_E_PERMISSION_DENIED: user alice lacks job:create/);
    expect(jobs.get('big-1735689720')).toBeUndefined();
  });

  it('Replace cancels the active run for the new one; Forbid lets the new one wait', async () => {
    const coordinator = new MemoryCoordinator();
    const clock = { now: T0 };
    const { jobs, crons, tenancy } = framework(coordinator, clock);
    await tenancy.grants.grant('alice', 'default', ['job:create', 'job:list']);
    await crons.recover();
    crons.attach();
    await crons.create(spec('swap'), every('* * * * *', { concurrencyPolicy: 'Replace' }), alice);
    await crons.create(spec('wait'), every('* * * * *', { concurrencyPolicy: 'Forbid' }), alice);
    await tickAt(crons, clock, T0 + 60_000);
    await tickAt(crons, clock, T0 + 120_000);
    expect(jobs.get('swap-1735689660')?.state).toBe(BatchJobState.BATCH_CANCELLED);
    expect(jobs.get('swap-1735689660')?.message).toBe('replaced by the run of 2025-01-01T00:02:00.000Z');
    expect(jobs.get('swap-1735689720')?.done).toBe(false);
    expect(jobs.get('wait-1735689720')).toBeUndefined();
    const waiting = jobs.get('wait-1735689660');
    if (waiting) await jobs.end(waiting, BatchJobState.BATCH_SUCCEEDED, '');
    await tickAt(crons, clock, T0 + 130_000);
    await tickAt(crons, clock, T0 + 131_000);
    expect(jobs.get('wait-1735689720')?.done, 'the waiting run starts once the earlier one ended').toBe(false);
  });

  it('a new leader goes on from the stored state: it adopts a run started but not recorded, and runs a missed one within its deadline', async () => {
    const clock = { now: T0 };
    const next = await afterUnrecordedRun('nightly', clock);
    await tickAt(next.crons, clock, T0 + 61_000);
    const adopted = await next.crons.show('nightly', alice);
    expect(adopted.active.map((r) => r.job)).toEqual(['nightly-1735689660']);
    expect((await next.jobs.list(alice)).filter((j) => j.cron === 'nightly')).toHaveLength(1);
    // Down from 00:01:30 to 00:03:10: the 00:03 run is 10 s late, within its 90 s deadline.
    const run = next.jobs.get('nightly-1735689660');
    if (run) await next.jobs.end(run, BatchJobState.BATCH_SUCCEEDED, '');
    await tickAt(next.crons, clock, T0 + 190_000);
    const after = await next.crons.show('nightly', alice);
    expect(after.active.map((r) => r.job)).toEqual(['nightly-1735689780']);
    expect(after.missed, 'the 00:02 run was superseded by the 00:03 one').toBe(1);
  });

  it('a new leader adopts an unrecorded run even when a later time has superseded it: not missed, not forgotten', async () => {
    const clock = { now: T0 };
    // Back at 00:02:10: the 00:02 run is due, and the 00:01 one is not a missed run but a run.
    const next = await afterUnrecordedRun('hourly', clock);
    expect((await next.crons.show('hourly', alice)).lastScheduledAt).toBe((T0 + 60_000) / 1000);
    await tickAt(next.crons, clock, T0 + 130_000);
    const after = await next.crons.show('hourly', alice);
    expect(after.active.map((r) => r.job).sort()).toEqual(['hourly-1735689660', 'hourly-1735689720']);
    expect(after.missed).toBe(0);
    const stored = (await next.coordinator.get(`${CRONS_PREFIX}/hourly`))?.value ?? '';
    expect(JSON.parse(stored)).toMatchObject({ lastScheduledAt: T0 + 120_000, missed: 0 });
  });

  it("refuses another user's cron job without job:any, and its name", async () => {
    const coordinator = new MemoryCoordinator();
    const clock = { now: T0 };
    const { crons, tenancy } = framework(coordinator, clock);
    await tenancy.grants.grant('alice', 'default', ['job:create', 'job:list', 'job:remove', 'job:update']);
    await tenancy.grants.grant('bob', 'default', ['job:create', 'job:list', 'job:remove', 'job:update']);
    await crons.recover();
    await crons.create(spec('mine'), every('@daily'), alice);
    await expect(crons.delete('mine', bob)).rejects.toThrow(/user bob lacks job:any in pool default/);
    await expect(crons.suspend('mine', true, bob)).rejects.toThrow(/user bob lacks job:any in pool default/);
    await expect(crons.create(spec('mine'), every('@daily'), bob)).rejects.toThrow(
      /^GALAXY_E_NAME_TAKEN: the job name "mine" is taken; choose another name$/,
    );
    expect(await crons.list(bob)).toEqual([]);
    expect((await crons.show('mine', alice)).suspended).toBe(false);
    expect((await crons.suspend('mine', true, alice)).suspended).toBe(true);
    expect((await crons.delete('mine', alice)).spec?.name).toBe('mine');
    expect(await coordinator.get(`${CRONS_PREFIX}/mine`)).toBeUndefined();
  });

  it('keeps at most MAX_CRON_JOBS cron jobs: one more is refused and nothing is stored', async () => {
    const coordinator = new MemoryCoordinator();
    const { crons } = framework(coordinator, { now: T0 });
    await crons.recover();
    for (let i = 0; i < MAX_CRON_JOBS; i++) await crons.create(spec(`c${i}`), every('@daily'));
    await expect(crons.create(spec('one-more'), every('@daily'))).rejects.toThrow(
      `GALAXY_E_LIMIT_EXCEEDED: the batch framework keeps at most ${MAX_CRON_JOBS} cron jobs: delete some (galaxy batch cron delete)`,
    );
    expect(await coordinator.get(`${CRONS_PREFIX}/one-more`)).toBeUndefined();
    expect(await crons.list()).toHaveLength(MAX_CRON_JOBS);
  });
});
