/**
 * The `disk-volumes` isolator: a task's DISK volumes (docs/disks.md). Each is an ext4 image of
 * exactly its size on the agent's named disk (isolators/disk/loop-image.ts), loop-mounted on the
 * host under the agent's work dir and bound into the container at the volume's path by the
 * container's helper. A persistent volume's image stays on the disk after its container, for the
 * next container with the same key; a container's own volumes go with it. The launcher adds this
 * isolator to every Linux container, as it does `volumes`.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import { writeAtomic } from '../../core/files.js';
import type { DiskEntry } from '../../core/disks.js';
import { Volume_Kind, type Volume } from '../../proto/gen/galaxy/v1/common.js';
import type { Container, Isolator } from '../isolator.js';
import { volumeTarget } from '../volumes/target.js';
import { destroyMarkOf } from './destroy.js';
import { mountImage, mountNewImage, mountsUnder, unmountImage } from '../disk/loop-image.js';
import {
  exclusiveMarkerOf,
  imageOf,
  imagesOn,
  mountPointOf,
  recordOf,
  volumeBase,
  VOLUMES_DIR,
  type PersistentVolumeRecord,
} from './files.js';

/** What a container's state keeps of one attached volume. */
interface Attached {
  readonly mountPoint: string;
  readonly image: string;
  readonly persistent: boolean;
  readonly marker?: string;
}

const STATE = 'disk-volumes.attached';

function fail(message: string): never {
  throw new GalaxyError('GALAXY_E_DISK_VOLUME_FAILED', message);
}

/** The container's DISK volumes with their indexes. */
function diskVolumes(c: Container): [number, Volume][] {
  return [...c.volumes.entries()].filter(([, v]) => v.kind === Volume_Kind.DISK);
}

/** The persistent key of a volume, or undefined for a container's own one. */
function keyOf(v: Volume): string | undefined {
  return v.diskPersistent ? v.diskVolumeId : undefined;
}

/** The disk-volumes isolator of an agent with `disks`, working in `workDir`. */
export function diskVolumesIsolator(disks: readonly DiskEntry[], workDir: string): Isolator {
  const volumesDir = join(workDir, 'volumes');
  const diskOf = (name: string): DiskEntry =>
    disks.find((d) => d.resource.name === name) ?? fail(`this agent has no disk "${name.slice(0, 40)}" (--disks)`);

  /** Refuses a volume the disk cannot take: over its size, or beside an exclusive one. */
  async function checkRoom(disk: DiskEntry, v: Volume, base: string): Promise<void> {
    const others = (await imagesOn(disk)).filter((b) => b !== base);
    if (existsSync(exclusiveMarkerOf(disk)) && others.length > 0)
      fail(`disk ${disk.resource.name} is taken whole by another volume`);
    if (v.diskExclusive && others.length > 0)
      fail(`disk ${disk.resource.name} already holds ${others.length} volume(s): it cannot be taken whole`);
    let used = 0;
    for (const b of others) used += (await stat(imageOf(disk, b)).catch(() => ({ size: 0 }))).size;
    if (used + v.sizeBytes > disk.resource.capacity)
      fail(
        `disk ${disk.resource.name} has ${disk.resource.capacity - used} bytes left, the volume needs ${v.sizeBytes}`,
      );
  }

  /** Mounts one volume (making its image first unless a persistent one already exists). */
  async function attach(c: Container, index: number, v: Volume): Promise<Attached> {
    const disk = diskOf(v.diskName);
    const key = keyOf(v);
    const base = volumeBase(c.id, index, key);
    const image = imageOf(disk, base);
    const mountPoint = mountPointOf(workDir, base);
    await mkdir(join(disk.path, VOLUMES_DIR), { recursive: true, mode: 0o700 });
    await mkdir(volumesDir, { recursive: true, mode: 0o700 });
    const exists = key !== undefined && existsSync(image);
    if (exists && (await stat(image)).size !== Math.max(v.sizeBytes, 0))
      fail(`persistent volume ${v.diskVolumeId} exists with another size; destroy it first (galaxy volume destroy)`);
    if (!exists) await checkRoom(disk, v, base);
    await mkdir(mountPoint, { mode: 0o700 }).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST')
        fail(`volume ${v.diskVolumeId || base} is in use by another container`);
      throw error;
    });
    try {
      if (exists) await mountImage(image, mountPoint);
      else await mountNewImage(image, v.sizeBytes, mountPoint);
    } catch (error) {
      await rmdir(mountPoint).catch(() => undefined);
      throw error;
    }
    const marker = v.diskExclusive ? exclusiveMarkerOf(disk) : undefined;
    if (marker !== undefined) await writeAtomic(marker, base);
    if (key !== undefined && !exists) {
      const [frameworkId = '', ...rest] = key.split('/');
      const record: PersistentVolumeRecord = {
        key,
        frameworkId,
        volumeId: rest.join('/'),
        disk: disk.resource.name,
        medium: disk.resource.medium,
        sizeBytes: v.sizeBytes,
        exclusive: v.diskExclusive,
      };
      await writeAtomic(recordOf(disk, base), JSON.stringify(record));
    }
    return { mountPoint, image, persistent: key !== undefined, ...(marker ? { marker } : {}) };
  }

  /** Unmounts one volume; a container's own one is removed with its image. */
  async function detach(a: Attached): Promise<void> {
    if ((await mountsUnder(volumesDir)).includes(a.mountPoint)) await unmountImage(a.mountPoint);
    await rmdir(a.mountPoint).catch(() => undefined);
    // A persistent volume whose destroy waited for this container goes now.
    if (a.persistent && !existsSync(destroyMarkOf(a.image))) return;
    await rm(destroyMarkOf(a.image), { force: true });
    await rm(a.image.replace(/\.img$/, '.json'), { force: true });
    await rm(a.image, { force: true });
    if (a.marker !== undefined) await rm(a.marker, { force: true });
  }

  function attachedOf(c: Container): Attached[] {
    let list = c.state.get(STATE) as Attached[] | undefined;
    if (!list) c.state.set(STATE, (list = []));
    return list;
  }

  return {
    name: 'disk-volumes',
    controllers: [],
    async prepare(c: Container) {
      const attached = attachedOf(c);
      for (const [index, v] of diskVolumes(c)) {
        const a = await attach(c, index, v);
        attached.push(a);
        // The agent made this source (under its work dir): not a host path of the task's choosing.
        c.mounts.push({
          kind: 'bind',
          target: volumeTarget(c.sandbox, v.path),
          source: a.mountPoint,
          readOnly: v.readOnly,
          agentVolume: true,
        });
      }
    },
    async cleanup(c: Container) {
      const attached = attachedOf(c);
      while (attached.length > 0) await detach(attached.pop() as Attached);
    },
    async recover(containers: readonly Container[]) {
      const live = new Set<string>();
      for (const c of containers) {
        const attached = attachedOf(c);
        for (const [index, v] of diskVolumes(c)) {
          const disk = disks.find((d) => d.resource.name === v.diskName);
          if (!disk) continue;
          const base = volumeBase(c.id, index, keyOf(v));
          const marker = v.diskExclusive ? exclusiveMarkerOf(disk) : undefined;
          attached.push({
            mountPoint: mountPointOf(workDir, base),
            image: imageOf(disk, base),
            persistent: keyOf(v) !== undefined,
            ...(marker ? { marker } : {}),
          });
          live.add(base);
        }
      }
      // Leftovers of containers that ended while the agent was down: unmount; their own images go.
      for (const mountPoint of await mountsUnder(volumesDir)) {
        if (!live.has(mountPoint.slice(volumesDir.length + 1))) await unmountImage(mountPoint);
      }
      for (const disk of disks) {
        for (const base of await imagesOn(disk)) {
          if (base.startsWith('t-') && !live.has(base)) await rm(imageOf(disk, base), { force: true });
        }
      }
    },
  };
}
