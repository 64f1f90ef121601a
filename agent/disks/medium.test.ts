/**
 * A discovered disk's medium, read from a sysfs laid out as the kernel's (a fake tree here; the
 * real one is read in test/kernel/disks-from.test.ts):
 * - a whole disk's `queue/rotational` 1 is hdd, 0 ssd; a partition takes its disk's;
 * - a loop device is the medium of the device its backing file is on (followed through loops);
 * - a tmpfs is tmpfs;
 * - anything the kernel does not tell (no queue, a deleted backing file, nfs) is unknown.
 */
import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediumOfMount } from './medium.js';
import { deviceNumbers, parseMountLine, type MountEntry } from './mountinfo.js';

let sys: string;
let backing: string;
let backingDev: { major: number; minor: number };

/** A block device at `devices/<path>` with `files`, linked from `dev/block/<major:minor>`. */
async function device(id: string, path: string, files: Record<string, string>): Promise<void> {
  const dir = join(sys, 'devices', path);
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  await mkdir(dir, { recursive: true });
  await symlink(`../../devices/${path}`, join(sys, 'dev', 'block', id));
}

beforeAll(async () => {
  sys = await mkdtemp(join(tmpdir(), 'galaxy-diskfind-sys-'));
  await mkdir(join(sys, 'dev', 'block'), { recursive: true });
  backing = join(sys, 'backing.img');
  await writeFile(backing, '');
  backingDev = deviceNumbers((await stat(backing, { bigint: true })).dev);
  await device('8:0', 'pci/block/sda', { 'queue/rotational': '0\n' });
  await device('8:1', 'pci/block/sda/sda1', { partition: '1\n' });
  await device('253:0', 'virtual/block/dm-0', { 'queue/rotational': '1\n' });
  await device('9:9', 'virtual/block/md9', {});
  await device('7:0', 'virtual/block/loop0', { 'loop/backing_file': `${backing}\n`, 'queue/rotational': '0\n' });
  await device('7:1', 'virtual/block/loop1', { 'loop/backing_file': `${backing} (deleted)\n` });
  // The device the backing file really is on, as a spinning disk.
  await device(`${backingDev.major}:${backingDev.minor}`, 'pci/block/vdz', { 'queue/rotational': '1\n' });
});

afterAll(async () => {
  await rm(sys, { recursive: true, force: true });
});

const mount = (device: string, fsType: string): MountEntry =>
  parseMountLine(`40 26 ${device} / /mnt/disks/d rw - ${fsType} /dev/x rw`) as MountEntry;

describe("a discovered disk's medium", () => {
  it.each([
    ['a non-rotational disk', '8:0', 'ssd'],
    ['its partition', '8:1', 'ssd'],
    ['a rotational device-mapper device', '253:0', 'hdd'],
    ['a loop device: its backing file is on a rotational disk', '7:0', 'hdd'],
    ['a device with no queue', '9:9', undefined],
    ['a loop device whose backing file is deleted', '7:1', undefined],
    ['an unknown device', '65:3', undefined],
  ])('of %s', async (_what, dev, medium) => {
    expect(await mediumOfMount(mount(dev, 'ext4'), { sys, mounts: [] })).toBe(medium);
  });

  it('is tmpfs for a tmpfs, and unknown for a network filesystem', async () => {
    expect(await mediumOfMount(mount('0:50', 'tmpfs'), { sys, mounts: [] })).toBe('tmpfs');
    expect(await mediumOfMount(mount('0:51', 'nfs4'), { sys, mounts: [] })).toBeUndefined();
  });
});
