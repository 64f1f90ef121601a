/**
 * Blacklists that heal (fake master, real gRPC, the test's clock): a host's failures of a job
 * expire `failure.blacklistExpiryS` after the last one, `unblacklist` forgets them at once (an
 * unknown host is refused, changing nothing), and a pod failing the new revision in an update
 * counts against the revision, not its host.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { isGalaxyError } from '../../core/errors.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

let h: AppMasterHarness;
afterEach(async () => {
  await h.stop();
});

const failure = { failure: { blacklistAfter: 1, blacklistExpiryS: 60 } };

async function failedOnce(): Promise<void> {
  h = await startAppMasterHarness();
  await h.appmaster.submit(specJson('web', 1, '1', failure));
  h.offer(offerOf('o1'));
  await h.calls('accept');
  await h.taskState('web', 'web-0', TaskState.TASK_FAILED);
  await eventually(async () => (await h.show('web')).blacklist.length === 1, 5000, 'the failure counted');
  expect((await h.show('web')).blacklist).toEqual(['host-a1']);
}

describe('blacklists that heal', { timeout: 20_000 }, () => {
  it("expires a host's failures blacklistExpiryS after the last one", async () => {
    await failedOnce();
    h.advance(59_000);
    h.appmaster.tick();
    expect((await h.show('web')).blacklist).toEqual(['host-a1']);
    h.advance(1000);
    h.appmaster.tick();
    expect((await h.show('web')).blacklist).toEqual([]);
  });

  it('unblacklist forgets at once; an unknown host is refused and nothing changes', async () => {
    await failedOnce();
    const refused = await h.appmaster.unblacklist('web', 'host-zz').catch((e: unknown) => e);
    expect(isGalaxyError(refused) && refused.code).toBe('GALAXY_E_INVALID_ARGUMENT');
    expect((await h.show('web')).blacklist).toEqual(['host-a1']);
    expect((await h.appmaster.unblacklist('web', 'host-a1')).blacklist).toEqual([]);
  });

  it('a pod failing the new revision counts against the revision, not its host', async () => {
    h = await startAppMasterHarness();
    await h.appmaster.submit(specJson('web', 2, '1', failure));
    h.offer(offerOf('o1'));
    await h.calls('accept');
    await h.healthy('web', 'web-0', 1);
    await h.healthy('web', 'web-1', 1);
    await h.appmaster.updateJob(specJson('web', 2, '2', failure));
    await h.pull('web', 'web-0', { phase: 'running', health: 'unhealthy', revision: 2, dataRevision: 2 });
    h.appmaster.tick();
    const job = await h.show('web');
    expect(job.update).toMatchObject({ failed: 1, paused: true });
    expect(job.blacklist).toEqual([]);
  });
});
