/**
 * How a disk's volumes are held to their size (docs/disks.md, "Project quotas"). Every volume is a
 * loop-mounted ext4 image today. The issue asks for XFS (or ext4) project quotas where the disk's
 * filesystem enforces them: the agent detects that per disk and reports it, but there is no
 * project-quota backend yet (it could not be tested: the kernels Galaxy is tested on are built
 * without CONFIG_XFS_QUOTA and ext4 project quota), so such a disk still gets loop images.
 */
import type { MountEntry } from './mountinfo.js';

/** What holds a disk's volumes to their size: only `loop` (an ext4 image per volume) is built. */
export type DiskEnforcement = 'loop';

/** What the agent knows of a disk's quota: whether its filesystem enforces project quotas, and what it uses. */
export interface DiskQuota {
  /** The filesystem is xfs or ext4 mounted with project quotas enforced (`prjquota`/`pquota`). */
  readonly projectQuota: boolean;
  readonly enforcement: DiskEnforcement;
}

/** Filesystems whose project quota the agent detects. */
const PROJECT_QUOTA_FS = new Set(['xfs', 'ext4']);

/**
 * True when `mount`'s filesystem enforces project quotas: xfs or ext4 mounted with `prjquota`
 * (xfs also says `pquota`; `pqnoenforce` only accounts, so it does not count).
 */
export function enforcesProjectQuota(mount: MountEntry): boolean {
  return PROJECT_QUOTA_FS.has(mount.fsType) && mount.superOptions.some((o) => o === 'prjquota' || o === 'pquota');
}

/** The quota of a disk on `mount` (undefined: not found in the mount table, so no project quota). */
export function diskQuota(mount: MountEntry | undefined): DiskQuota {
  return { projectQuota: mount !== undefined && enforcesProjectQuota(mount), enforcement: 'loop' };
}
