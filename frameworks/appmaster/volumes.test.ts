/**
 * `galaxy volume list` / `destroy` on the AppMaster (docs/disks.md), on the harness's fake master:
 * a pod with a persistent volume is launched on a named disk; the list shows it in use; a destroy
 * while the pod runs is refused (and changes nothing) unless forced; a destroy of a kept volume
 * sends the master DisksDestroyVolume with the pod's key and frees the pod from its agent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Offer } from '../../proto/gen/galaxy/v1/common.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

const MiB = 1024 * 1024;
let h: AppMasterHarness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** An offer of agent `agentId` with a 256MiB ssd disk. */
function diskOffer(id: string, agentId: string): Offer {
  const offer = offerOf(id, agentId);
  if (!offer.resources) throw new Error('an offer without resources');
  offer.resources.namedDisks = {
    disks: [{ name: 'ssd1', medium: 'ssd', size: 256 * MiB, capacity: 256 * MiB, exclusive: false }],
  };
  return offer;
}

const volumes = [{ kind: 'disk', name: 'data', path: 'data', medium: 'ssd', size: '32Mi', persistent: true }];

async function launched(): Promise<AppMasterHarness> {
  const harness = await startAppMasterHarness();
  h = harness;
  await harness.appmaster.submit(specJson('kv', 1, '1', { volumes }));
  harness.offer(diskOffer('o1', 'a1'));
  await harness.calls('accept', 1);
  await harness.taskState('kv', 'kv-0', TaskState.TASK_RUNNING);
  return harness;
}

/** The persistent volume keys of every task launched so far. */
const keysLaunched = (harness: AppMasterHarness) =>
  harness.launched().flatMap((t) => t.volumes.filter((v) => v.diskPersistent).map((v) => v.diskVolumeId));

describe('persistent volume keys', () => {
  it("carry the job's uid: a job submitted again under the same name never finds the old one's volume", async () => {
    const harness = await launched();
    await harness.appmaster.remove('kv');
    await harness.appmaster.submit(specJson('kv', 1, '1', { volumes }));
    harness.advance(60_000);
    harness.offer(diskOffer('o2', 'a1'));
    await harness.calls('accept', 2);
    const [first, second] = keysLaunched(harness);
    expect(first).toMatch(/^kv-0\.[0-9a-f]{12}\/data$/);
    expect(second).toMatch(/^kv-0\.[0-9a-f]{12}\/data$/);
    expect(second).not.toBe(first);
    // The removal destroyed the first job's volume by the key it was made with.
    const [destroy] = await harness.calls('disksDestroyVolume', 1);
    expect(destroy?.call).toMatchObject({ disksDestroyVolume: { agentId: 'a1', volumeId: first } });
  });
});

describe('galaxy volume list / destroy', () => {
  it("lists a running pod's volume as in use and refuses to destroy it without --force, changing nothing", async () => {
    const harness = await launched();
    const row = {
      job: 'kv',
      podId: 'kv-0',
      volume: 'data',
      agentId: 'a1',
      hostname: 'host-a1',
      disk: 'ssd1',
      medium: 'ssd',
      sizeBytes: 32 * MiB,
    };
    expect(await harness.appmaster.volumes('')).toEqual([{ ...row, state: 'in use' }]);
    expect(await harness.appmaster.volumes('kv')).toEqual([{ ...row, state: 'in use' }]);
    await expect(harness.appmaster.destroyVolume('kv', 'kv-0', 'data', false)).rejects.toThrow(
      /GALAXY_E_VOLUME_IN_USE: volume data of pod kv-0 is mounted by its running container/,
    );
    await expect(harness.appmaster.destroyVolume('kv', 'kv-0', 'nope', true)).rejects.toThrow(
      /GALAXY_E_VOLUME_UNKNOWN: pod kv-0 keeps no persistent volume "nope"; it keeps: data/,
    );
    await expect(harness.appmaster.destroyVolume('kv', 'kv-9', 'data', true)).rejects.toThrow(/GALAXY_E_POD_UNKNOWN/);
    expect(await harness.appmaster.volumes('kv')).toEqual([{ ...row, state: 'in use' }]);
    expect(harness.master.calls.items.filter((c) => c.call?.$case === 'disksDestroyVolume')).toEqual([]);

    // --force: the agent deletes it when the container ends; listed as destroying until then.
    expect(await harness.appmaster.destroyVolume('kv', 'kv-0', 'data', true)).toMatchObject({ state: 'destroying' });
    const [call] = await harness.calls('disksDestroyVolume', 1);
    expect(call?.call).toEqual({
      $case: 'disksDestroyVolume',
      disksDestroyVolume: { agentId: 'a1', volumeId: keysLaunched(harness)[0] },
    });
    expect(keysLaunched(harness)[0]).toMatch(/^kv-0\.[0-9a-f]{12}\/data$/);
    expect(await harness.appmaster.volumes('kv')).toEqual([{ ...row, state: 'destroying' }]);
  });

  it('destroys a kept volume of a pod with no container: the pod may then go to any agent', async () => {
    const harness = await launched();
    await harness.taskState('kv', 'kv-0', TaskState.TASK_FAILED, 'crashed');
    await expect.poll(async () => (await harness.appmaster.volumes('kv')).map((v) => v.state)).toEqual(['kept']);
    expect(await harness.appmaster.destroyVolume('kv', 'kv-0', 'data', false)).toMatchObject({
      volume: 'data',
      state: 'destroyed',
    });
    await harness.calls('disksDestroyVolume', 1);
    expect(await harness.appmaster.volumes('')).toEqual([]);
    // No longer bound to a1: an offer of another agent takes the pod, with a new volume kept there.
    harness.advance(60_000);
    harness.offer(diskOffer('o2', 'a2'));
    await expect
      .poll(async () => (await harness.appmaster.volumes('kv')).map((v) => [v.agentId, v.state]), { timeout: 5000 })
      .toEqual([['a2', 'in use']]);
  });
});

describe('orphaned persistent volumes', () => {
  it('destroys a held volume no pod keeps (its job removed while its agent was away), and no kept one', async () => {
    const harness = await launched();
    const [gone] = keysLaunched(harness);
    // A second job keeps its volume on a2 while its pod has no container.
    await harness.appmaster.submit(specJson('db', 1, '1', { volumes }));
    harness.advance(60_000);
    harness.offer(diskOffer('o2', 'a2'));
    await harness.calls('accept', 2);
    const kept = keysLaunched(harness)[1];
    await harness.taskState('db', 'db-0', TaskState.TASK_FAILED, 'crashed');
    await expect.poll(async () => (await harness.appmaster.volumes('db')).map((v) => v.state)).toEqual(['kept']);
    // kv is removed: its destroy goes out, but say a1 was away and kept the volume.
    await harness.appmaster.remove('kv');
    await harness.calls('disksDestroyVolume', 1);

    const held = (volumeId: string | undefined) => ({
      frameworkId: '',
      volumeId: volumeId ?? '',
      disk: 'ssd1',
      sizeBytes: 32 * MiB,
      exclusive: false,
    });
    const fromA1 = { ...diskOffer('o3', 'a1'), heldVolumes: [held(gone)] };
    const fromA2 = { ...diskOffer('o4', 'a2'), heldVolumes: [held(kept), held('ghost-0.0123456789ab/data')] };
    harness.advance(60_000);
    harness.offer(fromA1, fromA2);
    const destroys = await harness.calls('disksDestroyVolume', 3);
    expect(destroys.slice(1).map((c) => c.call)).toEqual([
      { $case: 'disksDestroyVolume', disksDestroyVolume: { agentId: 'a1', volumeId: gone } },
      { $case: 'disksDestroyVolume', disksDestroyVolume: { agentId: 'a2', volumeId: 'ghost-0.0123456789ab/data' } },
    ]);
    // db's pod comes back to its own volume, which is not touched; a destroy is not repeated at once.
    await expect
      .poll(async () => (await harness.appmaster.volumes('db')).map((v) => [v.agentId, v.state]), { timeout: 5000 })
      .toEqual([['a2', 'in use']]);
    harness.offer({ ...diskOffer('o5', 'a1'), heldVolumes: [held(gone)] });
    await expect
      .poll(() =>
        harness.master.calls.items.some((c) => c.call?.$case === 'decline' && c.call.decline.offerIds.includes('o5')),
      )
      .toBe(true);
    expect(harness.master.calls.items.filter((c) => c.call?.$case === 'disksDestroyVolume')).toHaveLength(3);
  });
});
