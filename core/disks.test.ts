import { describe, expect, it } from 'vitest';
import { addResources, containsResources, sandboxDisk, subtractResources, validateResources } from './resources.js';
import { diskVolumeDenial, parseDisks, type DiskResource } from './disks.js';
import type { Resources } from '../proto/gen/galaxy/v1/common.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function disk(name: string, size: number, capacity = size, medium = 'ssd'): DiskResource {
  return { name, medium, size, capacity, exclusive: false };
}

function res(disks: DiskResource[], home = 0): Resources {
  const named = disks.reduce((s, d) => s + d.size, 0);
  return { cpus: 0, mem: 0, disk: home + named, gpus: 0, ports: [], namedDisks: { disks } };
}

describe('--disks', () => {
  it('parses name:path:medium:size entries', () => {
    expect(parseDisks('ssd1:/mnt/ssd1:ssd:100GiB, hdd1:/data/h:hdd:2TiB')).toEqual([
      { resource: disk('ssd1', 100 * GiB), path: '/mnt/ssd1' },
      { resource: disk('hdd1', 2 * 1024 * GiB, 2 * 1024 * GiB, 'hdd'), path: '/data/h' },
    ]);
    expect(parseDisks('')).toEqual([]);
  });

  it.each([
    ['ssd1:/mnt:ssd', 'is not name:path:medium:size'],
    ['SSD:/mnt:ssd:1GiB', 'disk name "SSD"'],
    ['a:/m1:ssd:1GiB,a:/m2:ssd:1GiB', 'disk "a" is given twice'],
    ['a:/m:ssd:1GiB,b:/m:ssd:1GiB', 'disks "a" and "b" have the same path /m'],
    ['a:relative:ssd:1GiB', 'is not absolute'],
    ['a:/m/../x:ssd:1GiB', 'has a . or .. segment'],
    ['a:/:ssd:1GiB', 'is the root'],
    ['a:/m:nvme:1GiB', 'medium "nvme" is not ssd, hdd or tmpfs'],
    ['a:/m:ssd:100', 'size'],
    ['a:/m:ssd:1MiB', 'under the smallest, 16MiB'],
  ])('refuses %s with a coded error naming the problem', (spec, message) => {
    expect(() => parseDisks(spec)).toThrow(expect.objectContaining({ code: 'GALAXY_E_DISK_INVALID' }));
    expect(() => parseDisks(spec)).toThrow(message);
  });
});

describe('named disk arithmetic', () => {
  it('adds, subtracts and compares per disk name; the sandbox disk is what is not a named disk', () => {
    const agent = res([disk('a', 10 * GiB), disk('b', 4 * GiB)], GiB);
    const task = res([disk('a', 3 * GiB, 10 * GiB)]);
    expect(containsResources(agent, task)).toBe(true);
    const left = subtractResources(agent, task);
    expect(left.namedDisks?.disks.map((d) => [d.name, d.size])).toEqual([
      ['a', 7 * GiB],
      ['b', 4 * GiB],
    ]);
    expect(sandboxDisk(left)).toBe(GiB);
    expect(containsResources(left, res([disk('a', 8 * GiB)]))).toBe(false);
    expect(containsResources(left, res([disk('c', MiB)]))).toBe(false);
    // The sandbox's disk cannot come out of a named disk's free bytes.
    expect(containsResources(left, { ...res([]), disk: 2 * GiB, namedDisks: { disks: [] } })).toBe(false);
    const back = addResources(left, task);
    expect(back.namedDisks?.disks.find((d) => d.name === 'a')?.size).toBe(10 * GiB);
    expect(back.disk).toBe(agent.disk);
  });

  it('refuses named disks bigger than disk, and malformed ones', () => {
    expect(() => {
      validateResources({ ...res([disk('a', GiB)]), disk: 0 }, 'task');
    }).toThrow('named disks hold more');
    expect(() => {
      validateResources(res([disk('A!', GiB)]), 'task');
    }).toThrow('disk name');
    expect(() => {
      validateResources(res([disk('a', GiB, GiB, 'floppy')]), 'task');
    }).toThrow('medium');
  });
});

describe('disk volumes against disk shares (master and agent check)', () => {
  const v = (diskName: string, sizeBytes: number, extra = {}) => ({
    diskName,
    diskMedium: 'ssd',
    sizeBytes,
    diskExclusive: false,
    diskPersistent: false,
    diskVolumeId: '',
    ...extra,
  });
  it('accepts volumes that match their shares', () => {
    expect(diskVolumeDenial([v('a', GiB), v('a', GiB)], res([disk('a', GiB, 8 * GiB), disk('a', GiB, 8 * GiB)]))).toBe(
      undefined,
    );
    expect(diskVolumeDenial([v('a', 8 * GiB, { diskExclusive: true })], res([disk('a', 8 * GiB, 8 * GiB)]))).toBe(
      undefined,
    );
  });
  it.each([
    ['a volume on a disk the task was not given', [v('b', GiB)], [disk('a', GiB)], 'is not in the task'],
    [
      'a volume bigger than its share',
      [v('a', 2 * GiB)],
      [disk('a', GiB)],
      'holds 1073741824 bytes, its volumes 2147483648',
    ],
    ['a share without a volume', [], [disk('a', GiB)], 'its volumes 0'],
    ['another medium', [v('a', GiB, { diskMedium: 'hdd' })], [disk('a', GiB)], 'is ssd, not hdd'],
    [
      'an exclusive volume short of the disk',
      [v('a', GiB, { diskExclusive: true })],
      [disk('a', GiB, 8 * GiB)],
      'whole disk',
    ],
    ['a persistent volume without a key', [v('a', GiB, { diskPersistent: true })], [disk('a', GiB)], 'disk_volume_id'],
    [
      'a persistent key with ..',
      [v('a', GiB, { diskPersistent: true, diskVolumeId: '../x' })],
      [disk('a', GiB)],
      'disk_volume_id',
    ],
  ])('refuses %s', (_what, volumes, shares, message) => {
    expect(diskVolumeDenial(volumes, res(shares))).toContain(message);
  });
});
