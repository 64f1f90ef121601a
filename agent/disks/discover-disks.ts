/**
 * Disks discovered from the agent's mounts (`galaxy agent --disks-from <dir>`, docs/disks.md), as
 * Mesos' MOUNT disks: the operator mounts each disk at `<dir>/<name>` and every mount point directly
 * under the dir becomes a disk of that name, its size the filesystem's (less a reserve) and its
 * medium the kernel's (medium.ts) unless `--disk-medium name:medium` names it. A directory that is
 * not a mount point (a disk that did not mount) is skipped with a warning; anything else that
 * cannot be a disk is refused (`GALAXY_E_DISK_INVALID`) before anything is made.
 */
import { readdir, realpath, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import { isUnder } from '../../core/host-paths.js';
import { isDiskMedium, isDiskName, MIN_DISK_BYTES, type DiskEntry, type DiskMedium } from '../../core/disks.js';
import { deviceNumbers, mountAt, type MountEntry } from './mountinfo.js';
import { mediumOfMount } from './medium.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** A discovered disk: its entry and the mount it is. */
export interface MountedDisk extends DiskEntry {
  readonly mount: MountEntry;
}

/** What discovery found: the disks, and what it skipped (for the agent's log). */
export interface MountedDisks {
  readonly disks: MountedDisk[];
  readonly warnings: string[];
}

/** What discovery reads: the mount table and sysfs (a test may point sysfs elsewhere). */
export interface DiscoveryProbe {
  readonly mounts: readonly MountEntry[];
  readonly sys?: string;
}

function refuse(message: string): never {
  throw new GalaxyError('GALAXY_E_DISK_INVALID', message);
}

/**
 * The bytes a disk of a filesystem with `usable` bytes offers: all but a reserve of 1% (at least
 * 8MiB, at most 1GiB) for the images' own blocks and records, rounded down to a MiB.
 */
export function mountedDiskSize(usable: number): number {
  const reserve = Math.min(GiB, Math.max(8 * MiB, Math.ceil(usable / 100)));
  return Math.max(0, Math.floor((usable - reserve) / MiB) * MiB);
}

/** Parses `--disk-medium name:medium,…` (`;` also separates); a name given twice is refused. */
export function parseDiskMedia(spec: string): Map<string, DiskMedium> {
  const media = new Map<string, DiskMedium>();
  for (const entry of spec
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name = '', medium = '', extra] = entry.split(':');
    if (extra !== undefined || !isDiskName(name) || !isDiskMedium(medium))
      refuse(`--disk-medium: "${entry.slice(0, 60)}" is not name:medium (medium ssd, hdd or tmpfs)`);
    if (media.has(name)) refuse(`--disk-medium: disk "${name}" is given twice`);
    media.set(name, medium);
  }
  return media;
}

/**
 * The disks mounted directly under `dir` for an agent working in `workDir` (real paths), with
 * media from `media` where named. Refuses a dir that is missing, a link or inside the work dir; a
 * mount whose name is not a disk name, that is a bind mount of part of a filesystem, that holds
 * the work dir or is its filesystem, that is the same filesystem as another disk, or whose medium
 * is unknown; a `media` name that is not found. Skips (with a warning) what is not a mount point.
 */
export async function discoverMountedDisks(
  dir: string,
  workDir: string,
  media: ReadonlyMap<string, DiskMedium>,
  probe: DiscoveryProbe,
): Promise<MountedDisks> {
  const where = `--disks-from ${dir.slice(0, 200)}`;
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) refuse(`${where}: not an existing directory`);
  const real = await realpath(dir);
  if (real !== dir) refuse(`${where}: is a link to ${real}; name the real path`);
  if (isUnder(dir, workDir)) refuse(`${where}: is inside the agent's work dir`);
  const workDev = deviceNumbers((await stat(workDir, { bigint: true })).dev);
  const disks: MountedDisk[] = [];
  const warnings: string[] = [];
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    if (entry.name.startsWith('.') || entry.name === 'lost+found') continue;
    const path = join(dir, entry.name);
    const shown = JSON.stringify(entry.name.slice(0, 40));
    if (!entry.isDirectory()) {
      warnings.push(`${where}: ${shown} is not a directory (a disk is mounted on one): skipped`);
      continue;
    }
    const dev = deviceNumbers((await stat(path, { bigint: true })).dev);
    const mount = mountAt(probe.mounts, path, dev);
    if (!mount) {
      warnings.push(`${where}: ${shown} is not a mount point (is its disk mounted?): skipped`);
      continue;
    }
    if (!isDiskName(entry.name))
      refuse(`${where}: mount ${shown} is not a disk name (a-z, 0-9, _ or -, at most 32): rename its mount point`);
    const name = `disk "${entry.name}" (${path})`;
    if (mount.root !== '/')
      refuse(`${where}: ${name} is a bind mount of ${mount.root.slice(0, 80)}; mount the whole filesystem`);
    if (isUnder(workDir, path)) refuse(`${where}: ${name} holds the agent's work dir`);
    if (dev.major === workDev.major && dev.minor === workDev.minor)
      refuse(`${where}: ${name} is the filesystem of the agent's work dir`);
    const twin = disks.find((d) => d.mount.major === dev.major && d.mount.minor === dev.minor);
    if (twin) refuse(`${where}: ${name} is the same filesystem as disk "${twin.resource.name}"`);
    const medium =
      media.get(entry.name) ?? (await mediumOfMount(mount, { sys: probe.sys ?? '/sys', mounts: probe.mounts }));
    if (medium === undefined)
      refuse(
        `${where}: ${name}: the medium of ${mount.fsType} ${mount.source.slice(0, 60)} is unknown; name it: --disk-medium ${entry.name}:ssd`,
      );
    const fs = await statfs(path);
    // What a user other than root may fill: the filesystem's blocks less those reserved for root.
    const size = mountedDiskSize((fs.blocks - (fs.bfree - fs.bavail)) * fs.bsize);
    if (size < MIN_DISK_BYTES) refuse(`${where}: ${name} is too small: under 16MiB once its reserve is kept back`);
    disks.push({ resource: { name: entry.name, medium, size, capacity: size, exclusive: false }, path, mount });
  }
  for (const name of media.keys())
    if (!disks.some((d) => d.resource.name === name))
      refuse(`--disk-medium: no disk "${name}" was found under ${dir.slice(0, 200)}`);
  return { disks, warnings };
}
