/**
 * Where a disk volume lives on the agent (docs/disks.md): its image in `<disk>/.galaxy-volumes/`,
 * beside a record of whose it is, and its mount point in `<work-dir>/volumes/`. A persistent
 * volume is named by a hash of its key (`<framework id>/<job>/<volume>`), so the next container
 * with the same key finds it; a container's own volume by the container and the volume's index.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DiskEntry } from '../../core/disks.js';

/** The directory of a disk that holds its volumes' images. */
export const VOLUMES_DIR = '.galaxy-volumes';

/** What the agent keeps beside a persistent volume's image. */
export interface PersistentVolumeRecord {
  /** `<framework id>/<job>/<volume>`: the framework id is the master's, never the task's. */
  readonly key: string;
  readonly frameworkId: string;
  /** The framework's own key (`job/volume`). */
  readonly volumeId: string;
  readonly disk: string;
  readonly medium: string;
  readonly sizeBytes: number;
  readonly exclusive: boolean;
}

/** A volume's file names: `p-<hash>` (persistent) or `t-<container>-<index>`. */
export function volumeBase(containerId: string, index: number, persistentKey: string | undefined): string {
  if (persistentKey === undefined) return `t-${containerId}-${index}`;
  return `p-${createHash('sha256').update(persistentKey).digest('hex').slice(0, 40)}`;
}

/** The image file of volume `base` on `disk`. */
export function imageOf(disk: DiskEntry, base: string): string {
  return join(disk.path, VOLUMES_DIR, `${base}.img`);
}

/** The record file of persistent volume `base` on `disk`. */
export function recordOf(disk: DiskEntry, base: string): string {
  return join(disk.path, VOLUMES_DIR, `${base}.json`);
}

/** The marker saying `disk` is taken whole by one volume. */
export function exclusiveMarkerOf(disk: DiskEntry): string {
  return join(disk.path, VOLUMES_DIR, 'EXCLUSIVE');
}

/** Where volume `base` is mounted on the host. */
export function mountPointOf(workDir: string, base: string): string {
  return join(workDir, 'volumes', base);
}

/** The images on `disk` (base names). */
export async function imagesOn(disk: DiskEntry): Promise<string[]> {
  const files = await readdir(join(disk.path, VOLUMES_DIR)).catch(() => [] as string[]);
  return files.filter((f) => f.endsWith('.img')).map((f) => f.slice(0, -'.img'.length));
}

/** The persistent volumes on `disks`, from their records. */
export async function persistentVolumes(disks: readonly DiskEntry[]): Promise<PersistentVolumeRecord[]> {
  const out: PersistentVolumeRecord[] = [];
  for (const disk of disks) {
    for (const base of await imagesOn(disk)) {
      if (!base.startsWith('p-')) continue;
      const text = await readFile(recordOf(disk, base), 'utf8').catch(() => undefined);
      if (text !== undefined) out.push(JSON.parse(text) as PersistentVolumeRecord);
    }
  }
  return out;
}
