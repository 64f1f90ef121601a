/**
 * Hard-size filesystems from loop-mounted ext4 images: the disk isolator's sandbox quota and the
 * agent's disk volumes (agent/disks/disk-volumes.ts) are both one of these. Writing past the
 * image's size gets ENOSPC from the kernel; nothing has to watch.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { run } from '../../core/exec.js';

/** ext4 needs a little room for itself; smaller images get this much. */
export const MIN_IMAGE_BYTES = 8 * 1024 * 1024;

/**
 * Makes an ext4 image of `bytes` (at least {@link MIN_IMAGE_BYTES}) at `image` and mounts it at
 * `mountPoint` (nosuid, nodev). On failure the image is removed again: nothing is left half made.
 */
export async function mountNewImage(image: string, bytes: number, mountPoint: string): Promise<void> {
  try {
    await run('truncate', ['-s', String(Math.max(MIN_IMAGE_BYTES, bytes)), image]);
    // No reserved blocks: the task gets every byte it asked for.
    await run('mkfs.ext4', ['-q', '-F', '-m', '0', '-E', 'nodiscard', image]);
    await mountImage(image, mountPoint);
  } catch (error) {
    await rm(image, { force: true });
    throw error;
  }
}

/** Mounts an existing image at `mountPoint` (nosuid, nodev), e.g. a persistent volume's again. */
export async function mountImage(image: string, mountPoint: string): Promise<void> {
  await run('mount', ['-o', 'loop,nosuid,nodev', image, mountPoint]);
}

/** Unmounts `mountPoint`; a busy mount (a leak elsewhere) is detached lazily rather than left. */
export async function unmountImage(mountPoint: string): Promise<void> {
  await run('umount', [mountPoint]).catch(() => run('umount', ['-l', mountPoint]));
}

/** Mount points under `under` (from /proc/mounts), e.g. to find leftovers after a restart. */
export async function mountsUnder(under: string): Promise<string[]> {
  const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '');
  return mounts.filter((m) => m.startsWith(`${under}/`));
}

/** Mount points of sandbox images under `under` (the image sits beside its mount point). */
export async function imageMountsUnder(under: string): Promise<string[]> {
  return (await mountsUnder(under)).filter((m) => existsSync(`${m}.img`));
}
