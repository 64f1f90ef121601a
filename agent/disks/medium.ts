/**
 * What a discovered disk is made of (`--disks-from`, docs/disks.md), from the kernel: a tmpfs is
 * `tmpfs`; a block device is `hdd` when its queue says rotational (`/sys/block/<dev>/queue/rotational`
 * 1), else `ssd`; a partition is its disk's medium; a loop device is the medium of the device its
 * backing file lives on. Anything else (network filesystems, overlay, a deleted backing file) is
 * unknown: the operator names it (`--disk-medium`).
 */
import { access, readFile, realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DiskMedium } from '../../core/disks.js';
import { deviceNumbers, type MountEntry } from './mountinfo.js';

/** How many loop devices backed by loop devices are followed before giving up. */
const MAX_LOOP_DEPTH = 4;

/** Where sysfs is; a test may point elsewhere. */
export interface MediumProbe {
  readonly sys: string;
  readonly mounts: readonly MountEntry[];
}

/** The medium of `mount`'s filesystem, or undefined when the kernel does not tell. */
export async function mediumOfMount(mount: MountEntry, probe: MediumProbe): Promise<DiskMedium | undefined> {
  if (mount.fsType === 'tmpfs') return 'tmpfs';
  return mediumOfDevice(mount.major, mount.minor, probe, 0);
}

async function mediumOfDevice(
  major: number,
  minor: number,
  probe: MediumProbe,
  depth: number,
): Promise<DiskMedium | undefined> {
  if (major === 0) {
    // No block device: a tmpfs (a loop image kept in memory) is tmpfs; others are unknown.
    const fs = probe.mounts.find((m) => m.major === 0 && m.minor === minor);
    return fs?.fsType === 'tmpfs' ? 'tmpfs' : undefined;
  }
  const dev = await realpath(`${probe.sys}/dev/block/${major}:${minor}`).catch(() => undefined);
  if (dev === undefined) return undefined;
  const backing = await readFile(`${dev}/loop/backing_file`, 'utf8').catch(() => undefined);
  if (backing !== undefined) {
    if (depth >= MAX_LOOP_DEPTH) return undefined;
    // A deleted backing file reads "<path> (deleted)" and does not stat: unknown.
    const file = await stat(backing.replace(/\n$/, ''), { bigint: true }).catch(() => undefined);
    if (!file) return undefined;
    const of = deviceNumbers(file.dev);
    return mediumOfDevice(of.major, of.minor, probe, depth + 1);
  }
  const isPartition = await access(`${dev}/partition`).then(
    () => true,
    () => false,
  );
  const queue = `${isPartition ? dirname(dev) : dev}/queue/rotational`;
  const rotational = (await readFile(queue, 'utf8').catch(() => '')).trim();
  return rotational === '1' ? 'hdd' : rotational === '0' ? 'ssd' : undefined;
}
