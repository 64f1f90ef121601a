/**
 * The agent's named disks: those `--disks` names (parsed by core/disks.ts) and those discovered
 * under `--disks-from` (discover-disks.ts), checked on this machine — each path must exist, be a
 * directory and be its own real path, no disk may be both named and discovered, nor share a
 * discovered disk's filesystem — before anything is made. The paths stay on the agent; the master
 * sees names, media and sizes.
 */
import { realpath, stat } from 'node:fs/promises';
import { GalaxyError } from '../../core/errors.js';
import { isUnder } from '../../core/host-paths.js';
import { parseDisks, type DiskEntry } from '../../core/disks.js';
import { discoverMountedDisks, parseDiskMedia, type DiscoveryProbe } from './discover-disks.js';
import { deviceNumbers, mountHolding, readMountinfo } from './mountinfo.js';
import { diskQuota, type DiskQuota } from './quota.js';

/** A disk of this agent: its resource, the real directory its volumes are made in, where it came from and its quota. */
export interface AgentDisk extends DiskEntry {
  /** `flag`: named by `--disks`; `mount`: discovered under `--disks-from`. */
  readonly source: 'flag' | 'mount';
  readonly quota: DiskQuota;
}

/** The flags that give an agent its disks (docs/disks.md). */
export interface DiskFlags {
  /** `name:path:medium:size,…` (`--disks`). */
  readonly disks?: string;
  /** A directory whose mount points are disks (`--disks-from`). */
  readonly disksFrom?: string;
  /** Media of discovered disks, `name:medium,…` (`--disk-medium`), where the kernel's guess is wrong or missing. */
  readonly diskMedium?: string;
}

/** The agent's disks and what discovery skipped, for its log. */
export interface AgentDisks {
  readonly disks: AgentDisk[];
  readonly warnings: string[];
}

function refuse(message: string): never {
  throw new GalaxyError('GALAXY_E_DISK_INVALID', message);
}

/**
 * Parses, discovers and checks the disks of an agent working in `workDir`. Throws
 * `GALAXY_E_DISK_INVALID` (nothing made) when an entry is malformed, a path is missing, not a
 * directory, a link, or is or holds the work dir, a discovered disk cannot be one
 * (discover-disks.ts), or a named disk clashes with a discovered one.
 */
export async function resolveAgentDisks(
  flags: DiskFlags,
  workDir: string,
  probe?: DiscoveryProbe,
): Promise<AgentDisks> {
  const named = parseDisks(flags.disks ?? '');
  const media = parseDiskMedia(flags.diskMedium ?? '');
  if (flags.disksFrom === undefined && media.size > 0)
    refuse('--disk-medium names the media of disks found by --disks-from, which is not given');
  const work = await realpath(workDir);
  for (const { resource, path } of named) {
    const where = `--disks: disk "${resource.name}"`;
    const info = await stat(path).catch(() => undefined);
    if (!info) refuse(`${where}: ${path} does not exist`);
    if (!info.isDirectory()) refuse(`${where}: ${path} is not a directory`);
    const real = await realpath(path);
    if (real !== path) refuse(`${where}: ${path} is a link to ${real}; name the real path`);
    if (isUnder(work, path) || isUnder(path, work)) refuse(`${where}: ${path} holds or is inside the agent's work dir`);
  }
  if (named.length === 0 && flags.disksFrom === undefined) return { disks: [], warnings: [] };
  const mounts = probe?.mounts ?? (await readMountinfo());
  const found =
    flags.disksFrom === undefined
      ? { disks: [], warnings: [] }
      : await discoverMountedDisks(flags.disksFrom, work, media, { mounts, ...(probe?.sys ? { sys: probe.sys } : {}) });
  const disks: AgentDisk[] = [];
  for (const disk of named) {
    const dev = deviceNumbers((await stat(disk.path, { bigint: true })).dev);
    const where = `--disks: disk "${disk.resource.name}"`;
    for (const other of found.disks) {
      if (other.resource.name === disk.resource.name)
        refuse(`${where} is also found under --disks-from at ${other.path}: name it once`);
      if (other.mount.major === dev.major && other.mount.minor === dev.minor)
        refuse(`${where}: ${disk.path} is on the filesystem of disk "${other.resource.name}" found at ${other.path}`);
      if (isUnder(other.path, disk.path)) refuse(`${where}: ${disk.path} holds disk "${other.resource.name}"`);
    }
    disks.push({ ...disk, source: 'flag', quota: diskQuota(mountHolding(mounts, disk.path, dev)) });
  }
  for (const { mount, ...disk } of found.disks) disks.push({ ...disk, source: 'mount', quota: diskQuota(mount) });
  return { disks, warnings: found.warnings };
}
