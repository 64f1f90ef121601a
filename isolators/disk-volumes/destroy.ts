/**
 * Destroying a persistent disk volume (`galaxy volume destroy`, a job's removal): its image, its
 * record and an exclusive marker go; a volume a container has mounted is refused, not yanked.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { GalaxyError } from '../../core/errors.js';
import type { DiskEntry } from '../../core/disks.js';
import { exclusiveMarkerOf, imageOf, imagesOn, mountPointOf, recordOf, volumeBase } from './files.js';

/** The mark asking for a mounted persistent volume to go once its container ends. */
export function destroyMarkOf(image: string): string {
  return image.replace(/\.img$/, '.destroy');
}

/**
 * Removes the persistent volume `key` (`<framework id>/<job>/<volume>`) from whichever of `disks`
 * holds it. Returns false when there is none; throws `GALAXY_E_DISK_VOLUME_FAILED` while it is
 * mounted (a container uses it), unless `whenUnmounted`: then it is marked, and goes when its
 * container ends (`'later'`).
 */
export async function destroyPersistentVolume(
  disks: readonly DiskEntry[],
  workDir: string,
  key: string,
  whenUnmounted = false,
): Promise<boolean | 'later'> {
  const base = volumeBase('', 0, key);
  const mountPoint = mountPointOf(workDir, base);
  for (const disk of disks) {
    if (!(await imagesOn(disk)).includes(base)) continue;
    if ((await isMounted(mountPoint)) && whenUnmounted) {
      await writeFile(destroyMarkOf(imageOf(disk, base)), key);
      return 'later';
    }
    if (await isMounted(mountPoint))
      throw new GalaxyError(
        'GALAXY_E_DISK_VOLUME_FAILED',
        `volume ${key} is mounted by a running container; stop the job's pod first`,
      );
    await rm(imageOf(disk, base), { force: true });
    await rm(recordOf(disk, base), { force: true });
    await rm(destroyMarkOf(imageOf(disk, base)), { force: true });
    const marker = exclusiveMarkerOf(disk);
    if ((await readFile(marker, 'utf8').catch(() => '')) === base) await rm(marker, { force: true });
    return true;
  }
  return false;
}

async function isMounted(mountPoint: string): Promise<boolean> {
  const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '');
  return mounts.includes(mountPoint);
}
