/**
 * Revision history through the AppMaster (fake master, real gRPC): each revision with time, user
 * and kind; only `deploy.keepRevisions` kept; `rollback --to` rolls a kept revision out again as
 * a new revision; refusals (an update running, a revision not kept, one that runs) change nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../core/errors.js';
import { UpdateControl } from '../../proto/gen/galaxy/v1/appmaster.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

let h: AppMasterHarness;
afterEach(async () => {
  await h.stop();
});

const alice = { user: 'alice', admin: true, kind: 'user' as const };
const bob = { user: 'bob', admin: true, kind: 'user' as const };

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'none';
  } catch (error) {
    return isGalaxyError(error) ? error.code : String(error);
  }
}

/** Rolls `version` out to the single pod (healthy at `revision` once moved). */
async function rollTo(version: string, revision: number, extra: Record<string, unknown> = {}, user = bob) {
  await h.appmaster.updateJob(specJson('web', 1, version, extra), user);
  await h.healthy('web', 'web-0', revision);
  h.appmaster.tick();
  expect((await h.show('web')).update).toBeUndefined();
}

describe('revision history', { timeout: 20_000 }, () => {
  it('lists revisions newest first with time, user and kind; rollback --to makes a new revision', async () => {
    h = await startAppMasterHarness();
    await h.appmaster.submit(specJson('web', 1, '1'), alice);
    h.offer(offerOf('o1'));
    await h.calls('accept');
    await h.healthy('web', 'web-0', 1);
    h.advance(1000);
    await rollTo('2', 2);
    h.advance(1000);
    await rollTo('2', 3, { env: { A: '1' } });
    const history = await h.appmaster.history('web');
    expect(history.revisions.map((r) => [r.revision, r.user, r.kind, r.version, r.current, r.fields])).toEqual([
      [3, 'bob', 'rebuild', '2', true, ['env']],
      [2, 'bob', 'rebuild', '2', false, ['package']],
      [1, 'alice', 'submit', '1', false, []],
    ]);
    expect(history.revisions[0]?.at).toBe(h.now());
    expect(history.revisions[2]?.at).toBe(h.now() - 2000);

    await h.appmaster.control('web', UpdateControl.UPDATE_ROLLBACK, alice, 1);
    const rolled = await h.show('web');
    expect(rolled).toMatchObject({ revision: 4, version: '1', state: 'updating' });
    const top = (await h.appmaster.history('web')).revisions[0];
    expect(top).toMatchObject({ revision: 4, kind: 'rollback', fromRevision: 1, user: 'alice', version: '1' });
    // While it rolls, another rollback --to is refused, and nothing changes.
    expect(await code(h.appmaster.control('web', UpdateControl.UPDATE_ROLLBACK, alice, 2))).toBe('GALAXY_E_JOB_STATE');
    expect((await h.show('web')).revision).toBe(4);
  });

  it('keeps only keepRevisions, and refuses revisions it does not keep or that run, naming the kept ones', async () => {
    h = await startAppMasterHarness();
    const keep = { deploy: { keepRevisions: 2 } };
    await h.appmaster.submit(specJson('web', 1, '1', keep));
    h.offer(offerOf('o1'));
    await h.calls('accept');
    await h.healthy('web', 'web-0', 1);
    await rollTo('2', 2, keep);
    await rollTo('3', 3, keep);
    expect((await h.appmaster.history('web')).revisions.map((r) => r.revision)).toEqual([3, 2]);
    await expect(h.appmaster.control('web', UpdateControl.UPDATE_ROLLBACK, undefined, 1)).rejects.toThrow(
      /keeps no revision 1; kept: 2, 3/,
    );
    expect(await code(h.appmaster.control('web', UpdateControl.UPDATE_ROLLBACK, undefined, 3))).toBe(
      'GALAXY_E_JOB_STATE',
    );
    expect(await code(h.appmaster.control('web', UpdateControl.UPDATE_PAUSE, undefined, 2))).toBe(
      'GALAXY_E_INVALID_ARGUMENT',
    );
    expect(await h.show('web')).toMatchObject({ revision: 3, update: undefined });
  });
});
