/**
 * Canary updates through the AppMaster (fake master, real gRPC, the test's clock): `--canary N`
 * moves N pods and holds with a typed reason; continue does not pass the hold, promote does;
 * abort rolls the canaries back; a failing canary rolls back on its own with autoRollback; failed
 * pods stay listed across pause, continue and rollback; bad canaries change nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../core/errors.js';
import { UpdateControl, WorkerAction, type JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

let h: AppMasterHarness;
afterEach(async () => {
  await h.stop();
});

const deploy = (extra: Record<string, unknown> = {}) => ({ deploy: { step: 1, intervalS: 0, ...extra } });

async function running(extra = deploy()): Promise<void> {
  h = await startAppMasterHarness();
  await h.appmaster.submit(specJson('web', 3, '1', extra));
  h.offer(offerOf('o1'));
  await h.calls('accept');
  for (let i = 0; i < 3; i += 1) await h.healthy('web', `web-${i}`, 1);
}

/** Each pod's target revision, as its worker (healthy at `applied[i]`) is told on a pull. */
async function targets(applied: number[]): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < 3; i += 1) out.push((await h.healthy('web', `web-${i}`, applied[i] ?? 1)).revision);
  return out;
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'none';
  } catch (error) {
    return isGalaxyError(error) ? error.code : String(error);
  }
}

const control = (c: UpdateControl): Promise<JobStatus> => h.appmaster.control('web', c);

describe('canary updates', { timeout: 20_000 }, () => {
  it('moves N pods and holds; continue does not pass the hold, promote rolls the rest', async () => {
    await running();
    await h.appmaster.updateJob(specJson('web', 3, '2', deploy()), undefined, 1);
    expect(await targets([1, 1, 1])).toEqual([2, 1, 1]);
    await h.healthy('web', 'web-0', 2);
    h.appmaster.tick();
    const held = await h.show('web');
    expect(held.state).toBe('paused');
    expect(held.update).toMatchObject({ canary: 1, updated: 1, paused: true });
    expect(held.update?.pausedReason).toBe('canary: 1 pod at the new revision; promote or abort');
    expect(held.message).toBe('3/3 healthy');
    expect(await targets([2, 1, 1])).toEqual([2, 1, 1]);
    expect(await code(control(UpdateControl.UPDATE_CONTINUE))).toBe('GALAXY_E_JOB_STATE');
    await control(UpdateControl.UPDATE_PROMOTE);
    expect(await targets([2, 1, 1])).toEqual([2, 2, 1]);
    await h.healthy('web', 'web-1', 2);
    h.appmaster.tick();
    await h.healthy('web', 'web-2', 2);
    h.appmaster.tick();
    expect((await h.show('web')).update).toBeUndefined();
  });

  it('abort rolls the canaries back to the revision before', async () => {
    await running();
    await h.appmaster.updateJob(specJson('web', 3, '2', deploy()), undefined, 2);
    await h.healthy('web', 'web-0', 2);
    h.appmaster.tick();
    await h.healthy('web', 'web-1', 2);
    h.appmaster.tick();
    expect((await h.show('web')).update?.pausedReason).toMatch(/^canary: 2 pods/);
    const aborted = await control(UpdateControl.UPDATE_ABORT);
    expect(aborted).toMatchObject({ state: 'rolling-back', revision: 1 });
    expect((await h.healthy('web', 'web-0', 2)).action).toBe(WorkerAction.ACTION_REBUILD);
    expect(await targets([2, 2, 1])).toEqual([1, 2, 1]);
  });

  it('a failing canary rolls back on its own with autoRollback; the failed pod stays listed', async () => {
    await running(deploy({ autoRollback: true }));
    await h.appmaster.updateJob(specJson('web', 3, '2', deploy({ autoRollback: true })), undefined, 1);
    await h.pull('web', 'web-0', { phase: 'running', health: 'unhealthy', revision: 2, dataRevision: 2 });
    h.appmaster.tick();
    const job = await h.show('web');
    expect(job).toMatchObject({ state: 'rolling-back', revision: 1 });
    expect(job.update).toMatchObject({ failed: 1, failedPods: ['web-0'], rollingBack: true });
  });

  it('keeps failed pods across a pause and a continue (a continue forgives them, it does not forget)', async () => {
    await running(deploy({ maxFailures: 1 }));
    await h.appmaster.updateJob(specJson('web', 3, '2', deploy({ maxFailures: 1 })));
    await h.pull('web', 'web-0', { phase: 'running', health: 'unhealthy', revision: 2, dataRevision: 2 });
    h.appmaster.tick();
    expect((await h.show('web')).update).toMatchObject({ paused: true, pausedReason: 'max failures', failed: 1 });
    await control(UpdateControl.UPDATE_CONTINUE);
    await control(UpdateControl.UPDATE_PAUSE);
    await control(UpdateControl.UPDATE_CONTINUE);
    const after = await h.show('web');
    expect(after.update).toMatchObject({ paused: false, failed: 1, failedPods: ['web-0'] });
  });

  it('refuses promote and abort without a canary, and bad canaries, changing nothing', async () => {
    await running();
    expect(await code(h.appmaster.updateJob(specJson('web', 3, '2'), undefined, 3))).toBe('GALAXY_E_INVALID_ARGUMENT');
    expect(await code(h.appmaster.updateJob(specJson('web', 3, '1', deploy({ step: 2 })), undefined, 1))).toBe(
      'GALAXY_E_INVALID_ARGUMENT',
    );
    expect(await h.show('web')).toMatchObject({ revision: 1, update: undefined });
    await h.appmaster.updateJob(specJson('web', 3, '2', deploy()));
    expect(await code(control(UpdateControl.UPDATE_PROMOTE))).toBe('GALAXY_E_JOB_STATE');
    expect(await code(control(UpdateControl.UPDATE_ABORT))).toBe('GALAXY_E_JOB_STATE');
    expect((await h.show('web')).update).toMatchObject({ toRevision: 2, canary: 0, rollingBack: false });
  });
});
