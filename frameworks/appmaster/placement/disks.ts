/**
 * Which of a host's named disks each of a pod's disk volumes goes on (docs/disks.md): a disk of
 * the volume's medium with room for it (the tightest such, so big disks stay whole for big
 * volumes); an exclusive volume takes a whole, untouched disk of at least its size; a persistent
 * volume kept from the pod's earlier container goes back on its disk.
 */
import { formatBytes } from '../../../core/resources.js';
import type { DiskResource } from '../../../core/disks.js';
import { diskVolumeName, type DiskVolumeSpec, type VolumeSpec } from '../../../core/spec/volumes.js';

/** The disk shares of a pod's disk volumes (in the order of its volumes), or why it does not fit. */
export type DiskPick =
  { readonly ok: true; readonly shares: DiskResource[] } | { readonly ok: false; readonly reason: string };

/** A pod's disk volumes, in the order of its volumes. */
export function diskVolumesOf(volumes: readonly VolumeSpec[]): DiskVolumeSpec[] {
  return volumes.filter((v): v is DiskVolumeSpec => v.kind === 'disk');
}

/**
 * Picks a disk of `free` for each disk volume; `kept` maps a persistent volume's name to the disk
 * its data is on (the pod must then be on that disk's agent).
 */
export function pickDisks(
  volumes: readonly DiskVolumeSpec[],
  free: readonly DiskResource[],
  kept: Readonly<Record<string, string>> = {},
): DiskPick {
  const left = free.map((d) => ({ ...d }));
  const shares: DiskResource[] = new Array<DiskResource>(volumes.length);
  // Whole disks and big volumes first: a small volume must not split the only disk they fit.
  const order = [...volumes.keys()].sort(
    (a, b) =>
      Number(volumes[b]?.exclusive) - Number(volumes[a]?.exclusive) ||
      (volumes[b]?.size ?? 0) - (volumes[a]?.size ?? 0),
  );
  for (const i of order) {
    const v = volumes[i] as DiskVolumeSpec;
    const keptOn = v.persistent ? kept[diskVolumeName(v)] : undefined;
    const fits = left.filter(
      (d) =>
        d.medium === v.medium &&
        (keptOn === undefined || d.name === keptOn) &&
        (v.exclusive ? d.size === d.capacity && d.capacity >= v.size : d.size >= v.size),
    );
    const best = fits.sort(
      (a, b) => (v.exclusive ? a.capacity - b.capacity : a.size - b.size) || (a.name < b.name ? -1 : 1),
    )[0];
    if (best === undefined) {
      if (keptOn !== undefined)
        return { ok: false, reason: `volume ${diskVolumeName(v)} is kept on disk ${keptOn}, which has no room` };
      return {
        ok: false,
        reason: v.exclusive
          ? `no whole ${v.medium} disk of ${formatBytes(v.size)} free`
          : `no ${v.medium} disk with ${formatBytes(v.size)} free`,
      };
    }
    const size = v.exclusive ? best.capacity : v.size;
    best.size -= size;
    shares[i] = { name: best.name, medium: best.medium, size, capacity: best.capacity, exclusive: v.exclusive };
  }
  return { ok: true, shares };
}

/**
 * Where a pod placed with `resources` keeps its persistent volumes: volume name → disk (the
 * shares come in the order of the disk volumes); undefined when it has none.
 */
export function keptDisks(
  volumes: readonly VolumeSpec[],
  shares: readonly DiskResource[],
): Record<string, string> | undefined {
  const kept: Record<string, string> = {};
  diskVolumesOf(volumes).forEach((v, i) => {
    const share = shares[i];
    if (v.persistent && share) kept[diskVolumeName(v)] = share.name;
  });
  return Object.keys(kept).length > 0 ? kept : undefined;
}
