/**
 * An agent's kept-volume report is hostile input (docs/disks.md, "Held volumes"): checked whole
 * against its disks, the first fault refuses it. And an ACCEPT's tasks claim an offer's held
 * volume only by mounting it on its disk; the held bytes of the others stay out of reach.
 */
import { describe, expect, it } from 'vitest';
import { withDisks } from '../../core/disks.js';
import { parseResources } from '../../core/resources.js';
import { offerWithoutHeld } from '../../core/held-volumes.js';
import { Volume, Volume_Kind, type KeptVolume, type Offer } from '../../proto/gen/galaxy/v1/common.js';
import { checkKeptVolumes, claimHeld } from './kept-volumes.js';

const MiB = 1024 ** 2;
const total = {
  ...parseResources('cpus:4;mem:8GiB;disk:1152MiB'),
  ...withDisks([
    { name: 'ssd1', medium: 'ssd', size: 64 * MiB, capacity: 64 * MiB, exclusive: false },
    { name: 'hdd1', medium: 'hdd', size: 64 * MiB, capacity: 64 * MiB, exclusive: false },
  ]),
};
const kept = (extra: Partial<KeptVolume> = {}): KeptVolume => ({
  frameworkId: 'fw-1',
  volumeId: 'kv-0.abc/data',
  disk: 'ssd1',
  sizeBytes: 40 * MiB,
  exclusive: false,
  ...extra,
});

describe('an agent report of kept volumes', () => {
  it('takes volumes that fit its disks', () => {
    const volumes = [kept(), kept({ volumeId: 'kv-1.abc/data', disk: 'hdd1' })];
    expect(checkKeptVolumes(volumes, total, new Map([['ssd1', 24 * MiB]]))).toEqual(volumes);
  });

  it.each([
    ['an unknown disk', [kept({ disk: 'nvme9' })], 'which the agent does not have'],
    ['a size of 0', [kept({ sizeBytes: 0 })], 'has size 0'],
    ['a negative size', [kept({ sizeBytes: -1 })], 'has size -1'],
    ['a size beyond the disk', [kept({ sizeBytes: 65 * MiB })], 'bigger than disk ssd1'],
    ['a key twice', [kept(), kept({ disk: 'hdd1' })], 'named twice'],
    ['more than the disk holds', [kept(), kept({ volumeId: 'kv-1.abc/data' })], 'exceed its capacity'],
    ['a malformed framework id', [kept({ frameworkId: '../fw' })], 'framework id'],
    ['a malformed volume id', [kept({ volumeId: 'a/b/c' })], 'is not pod/volume'],
  ])('refuses %s', (_what, volumes, message) => {
    expect(() => checkKeptVolumes(volumes, total, new Map())).toThrow(message);
    expect(() => checkKeptVolumes(volumes, total, new Map())).toThrow(
      expect.objectContaining({ code: 'GALAXY_E_KEPT_VOLUMES_REFUSED' }),
    );
  });

  it('counts what live tasks use of a disk', () => {
    expect(() => checkKeptVolumes([kept()], total, new Map([['ssd1', 25 * MiB]]))).toThrow('exceed its capacity');
  });
});

describe("an offer's held volumes", () => {
  const offer: Offer = {
    id: 'o1',
    frameworkId: 'fw-1',
    agentId: 'a1',
    hostname: 'h',
    resources: total,
    attributes: [],
    pool: 'default',
    allowedHostPaths: [],
    heldVolumes: [kept()],
  };
  const mounting = (volumeId: string, diskName = 'ssd1') => ({
    volumes: [
      Volume.fromPartial({
        kind: Volume_Kind.DISK,
        path: 'data',
        diskName,
        diskMedium: 'ssd',
        sizeBytes: 40 * MiB,
        diskPersistent: true,
        diskVolumeId: volumeId,
      }),
    ],
  });

  it('goes back to the allocator without the held bytes', () => {
    const back = offerWithoutHeld(offer);
    expect(back.disk).toBe(total.disk - 40 * MiB);
    expect(back.namedDisks?.disks.find((d) => d.name === 'ssd1')?.size).toBe(24 * MiB);
  });

  it('is claimed by a task that mounts it on its disk, and by no other', () => {
    expect(claimHeld([offer], [mounting('kv-0.abc/data')]).claimed).toEqual([kept()]);
    for (const tasks of [[mounting('kv-1.abc/data')], [mounting('kv-0.abc/data', 'hdd1')], []]) {
      const { claimed, stillHeld } = claimHeld([offer], tasks);
      expect(claimed).toEqual([]);
      expect(stillHeld.namedDisks?.disks).toMatchObject([{ name: 'ssd1', size: 40 * MiB }]);
    }
  });
});
