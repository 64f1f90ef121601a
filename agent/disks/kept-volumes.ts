/**
 * The agent's kept persistent volumes (docs/disks.md, "Held volumes"): the persistent volumes on
 * its disks that no container has mounted, read from the records beside their images. The agent
 * reports them at registration and again whenever the set changes (a container ends or mounts
 * one, one is destroyed), so that the master holds their bytes for their framework.
 */
import { readFile } from 'node:fs/promises';
import type { DiskEntry } from '../../core/disks.js';
import type { Logger } from '../../core/logger.js';
import type { KeptVolume } from '../../proto/gen/galaxy/v1/common.js';
import { mountPointOf, persistentVolumes, volumeBase } from '../../isolators/disk-volumes/files.js';

/** The persistent volumes on `disks` that are not mounted under `workDir`, sorted by key. */
export async function keptVolumesOn(disks: readonly DiskEntry[], workDir: string): Promise<KeptVolume[]> {
  const mounts = new Set((await readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? ''));
  const out: KeptVolume[] = [];
  for (const record of await persistentVolumes(disks)) {
    if (mounts.has(mountPointOf(workDir, volumeBase('', 0, record.key)))) continue;
    const disk = disks.find((d) => d.resource.name === record.disk);
    out.push({
      frameworkId: record.frameworkId,
      volumeId: record.volumeId,
      disk: record.disk,
      // A volume that takes its disk whole holds all of it.
      sizeBytes: record.exclusive && disk ? disk.resource.capacity : record.sizeBytes,
      exclusive: record.exclusive,
    });
  }
  return out.sort((a, b) => (a.frameworkId + a.volumeId < b.frameworkId + b.volumeId ? -1 : 1));
}

/** What the reporter needs of the agent. */
export interface KeptVolumeReporterDeps {
  readonly disks: readonly DiskEntry[];
  /** The agent's work dir, as a real path (the mount points are under it). */
  readonly workDir: () => string;
  /** Sends a report to the master (dropped while disconnected: the next registration carries the set). */
  readonly send: (volumes: KeptVolume[]) => void;
  readonly log: Logger;
}

/** Keeps the agent's kept-volume set and reports it when it changes; refreshes coalesce. */
export class KeptVolumeReporter {
  private current: KeptVolume[] = [];
  /** What the master was last told (by a report or the registration). */
  private told = '[]';
  private running: Promise<void> | undefined;
  private again = false;
  private force = false;

  constructor(private readonly deps: KeptVolumeReporterDeps) {}

  /** The set for a registration: the master learns it from there. */
  forRegistration(): KeptVolume[] {
    this.told = JSON.stringify(this.current);
    return this.current;
  }

  /**
   * Reads the set again and reports it if it changed, or always with `force` (a task ended: the
   * master took its volumes for kept until told otherwise). Calls made during a read run once
   * more after it.
   */
  refresh(force = false): Promise<void> {
    this.force ||= force;
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.read().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.running;
  }

  private async read(): Promise<void> {
    const force = this.force;
    this.force = false;
    try {
      this.current = await keptVolumesOn(this.deps.disks, this.deps.workDir());
    } catch (error) {
      this.deps.log.warn({ err: String(error) }, 'could not list the kept persistent volumes');
      return;
    }
    const text = JSON.stringify(this.current);
    if (text === this.told && !force) return;
    this.told = text;
    this.deps.log.info({ volumes: this.current.length }, 'kept persistent volumes changed; reporting them');
    this.deps.send(this.current);
  }
}
