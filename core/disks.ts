/**
 * Named disks as resources (docs/disks.md): an agent's `--disks name:path:medium:size,…`, and the
 * per-disk arithmetic the master, the allocators and the frameworks share. A disk is accounted
 * like a scalar of its own (keyed by its name); its bytes are also in the `disk` scalar, so that
 * quotas and shares see the sum.
 */
import type { DiskResource, Resources } from '../proto/gen/galaxy/v1/common.js';
import { GalaxyError } from './errors.js';
import { notNormal } from './host-paths.js';
import { readSize } from './sizes.js';

export type { DiskResource };

/** The media a disk can be of. */
export const DISK_MEDIA = ['ssd', 'hdd', 'tmpfs'] as const;

/** One of {@link DISK_MEDIA}. */
export type DiskMedium = (typeof DISK_MEDIA)[number];

/** A disk name: short, and safe in a file name and a flag. */
const DISK_NAME = /^[a-z0-9][a-z0-9_-]{0,31}$/;

/** The smallest disk (and volume) worth having: an ext4 image needs room for itself. */
export const MIN_DISK_BYTES = 16 * 1024 * 1024;

/** True when `medium` is one of {@link DISK_MEDIA}. */
export function isDiskMedium(medium: string): medium is DiskMedium {
  return (DISK_MEDIA as readonly string[]).includes(medium);
}

/** The place of `medium` in {@link DISK_MEDIA}, or -1 when it is none of them. */
export function mediumIndex(medium: string): number {
  return (DISK_MEDIA as readonly string[]).indexOf(medium);
}

/**
 * Adds `sign ×` the bytes of `disks` to `out[offset + mediumIndex]`, per medium in the order of
 * {@link DISK_MEDIA} (a disk of an unknown medium counts nowhere). Quotas count disk per medium
 * with it.
 */
export function addBytesByMedium(
  disks: readonly DiskResource[],
  out: Float64Array,
  offset = 0,
  sign: 1 | -1 = 1,
): Float64Array {
  for (const d of disks) {
    const i = mediumIndex(d.medium);
    if (i >= 0) out[offset + i] = (out[offset + i] ?? 0) + sign * d.size;
  }
  return out;
}

/** True when `name` is a well-formed disk name: a-z, 0-9, `_` or `-`, at most 32. */
export function isDiskName(name: string): boolean {
  return DISK_NAME.test(name);
}

function refuse(message: string): never {
  throw new GalaxyError('GALAXY_E_DISK_INVALID', `--disks: ${message}`);
}

/** A disk as `--disks` names it: its resource and the directory its volumes are made in. */
export interface DiskEntry {
  readonly resource: DiskResource;
  readonly path: string;
}

/**
 * Parses `name:path:medium:size,…` (`;` also separates). Names are lower-case ids, paths absolute
 * and normal (no `:`), media {@link DISK_MEDIA}, sizes with a unit of at least 16MiB; a name or a
 * path given twice is refused. Pure: whether the paths exist is {@link checkDiskPaths}' job.
 */
export function parseDisks(spec: string): DiskEntry[] {
  const disks: DiskEntry[] = [];
  const paths = new Map<string, string>();
  for (const entry of spec
    .split(/[,;]/)
    .map((s) => s.trim())
    .filter(Boolean)) {
    const parts = entry.split(':');
    if (parts.length !== 4) refuse(`"${entry.slice(0, 80)}" is not name:path:medium:size`);
    const [name = '', path = '', medium = '', sizeText = ''] = parts;
    if (!DISK_NAME.test(name)) refuse(`disk name "${name.slice(0, 40)}" must be a-z, 0-9, _ or -, at most 32`);
    if (disks.some((d) => d.resource.name === name)) refuse(`disk "${name}" is given twice`);
    const bad = path === '/' ? 'is the root' : notNormal(path);
    if (bad !== undefined) refuse(`disk "${name}": path "${path.slice(0, 80)}" ${bad}`);
    const twin = paths.get(path);
    if (twin !== undefined) refuse(`disks "${twin}" and "${name}" have the same path ${path}`);
    if (!isDiskMedium(medium)) refuse(`disk "${name}": medium "${medium.slice(0, 20)}" is not ssd, hdd or tmpfs`);
    const size = readSize(sizeText);
    if ('problem' in size) refuse(`disk "${name}": size ${size.problem}`);
    if (size.bytes < MIN_DISK_BYTES) refuse(`disk "${name}": size ${sizeText} is under the smallest, 16MiB`);
    paths.set(path, name);
    disks.push({ resource: { name, medium, size: size.bytes, capacity: size.bytes, exclusive: false }, path });
  }
  return disks;
}

/** The named disks of `r` (none when it has no `namedDisks`). */
export function disksOf(r: Resources): readonly DiskResource[] {
  return r.namedDisks?.disks ?? [];
}

/** Bytes of all the named disks of `r`. */
export function namedDiskBytes(r: Resources): number {
  return disksOf(r).reduce((sum, d) => sum + d.size, 0);
}

/** `r`'s `namedDisks` field for `disks`: absent when there are none, so diskless resources stay as they were. */
export function withDisks(disks: readonly DiskResource[]): Pick<Resources, 'namedDisks'> {
  return disks.length > 0 ? { namedDisks: { disks: [...disks] } } : {};
}

/** `a + b` per disk name (a disk's medium and capacity from whichever has it). */
export function addDisks(a: readonly DiskResource[], b: readonly DiskResource[]): DiskResource[] {
  const out = new Map(a.map((d) => [d.name, { ...d, exclusive: false }]));
  for (const d of b) {
    const have = out.get(d.name);
    out.set(d.name, have ? { ...have, size: have.size + d.size } : { ...d, exclusive: false });
  }
  return [...out.values()];
}

/** `a - b` per disk name, floored at zero; disks of `b` that `a` lacks are ignored. */
export function subtractDisks(a: readonly DiskResource[], b: readonly DiskResource[]): DiskResource[] {
  return a.map((d) => {
    const taken = b.filter((x) => x.name === d.name).reduce((sum, x) => sum + x.size, 0);
    return { ...d, size: Math.max(0, d.size - taken), exclusive: false };
  });
}

/** True when every disk share of `inner` fits the same-named disk of `outer` (summed per name). */
export function containsDisks(outer: readonly DiskResource[], inner: readonly DiskResource[]): boolean {
  const need = new Map<string, number>();
  for (const d of inner) need.set(d.name, (need.get(d.name) ?? 0) + d.size);
  for (const [name, size] of need) {
    const have = outer.find((d) => d.name === name);
    if (!have || have.size < size) return false;
  }
  return true;
}

/** Checks disk entries from the wire (a task's, an agent's): known names, media and safe sizes. */
export function validateDisks(disks: readonly DiskResource[], where: string): void {
  for (const d of disks) {
    const bad = !DISK_NAME.test(d.name)
      ? `disk name "${d.name.slice(0, 40)}" is not a-z, 0-9, _ or -`
      : !isDiskMedium(d.medium)
        ? `disk ${d.name}: medium "${d.medium.slice(0, 20)}" is not ssd, hdd or tmpfs`
        : [d.size, d.capacity].some((v) => !Number.isSafeInteger(v) || v < 0)
          ? `disk ${d.name}: sizes must be non-negative integers`
          : undefined;
    if (bad !== undefined) throw new GalaxyError('GALAXY_E_INVALID_RESOURCES', `${where}: ${bad}`);
  }
}

/** What {@link diskVolumeDenial} needs of a volume (the wire's `Volume`). */
export interface DiskVolumeClaim {
  readonly diskName: string;
  readonly diskMedium: string;
  readonly sizeBytes: number;
  readonly diskExclusive: boolean;
  readonly diskPersistent: boolean;
  readonly diskVolumeId: string;
}

/** A persistent volume's key as a framework names it (`job/volume`): id segments, one slash at most. */
const VOLUME_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(\/[A-Za-z0-9][A-Za-z0-9_.-]{0,99})?$/;

/** True when `id` is a well-formed persistent volume key of a framework (`job/volume`). */
export function isVolumeId(id: string): boolean {
  return VOLUME_ID.test(id);
}

/**
 * Why a task's disk volumes do not match the named disk shares its resources hold, or undefined.
 * The master and the agent check this so that no volume takes disk it was not allocated: every
 * volume names a disk its resources hold, of the same medium; the shares of each disk sum to its
 * volumes' sizes; an exclusive volume takes the disk's whole capacity and is alone on it.
 */
export function diskVolumeDenial(volumes: readonly DiskVolumeClaim[], r: Resources): string | undefined {
  const shares = disksOf(r);
  const want = new Map<string, number>();
  for (const [i, v] of volumes.entries()) {
    const share = shares.find((d) => d.name === v.diskName);
    if (!share) return `volumes[${i}]: disk "${v.diskName.slice(0, 40)}" is not in the task's resources`;
    if (share.medium !== v.diskMedium)
      return `volumes[${i}]: disk ${v.diskName} is ${share.medium}, not ${v.diskMedium}`;
    if (!Number.isSafeInteger(v.sizeBytes) || v.sizeBytes < MIN_DISK_BYTES)
      return `volumes[${i}]: a disk volume needs size_bytes of at least 16MiB`;
    if (v.diskPersistent && !VOLUME_ID.test(v.diskVolumeId))
      return `volumes[${i}]: a persistent volume needs disk_volume_id like job/volume`;
    if (v.diskExclusive && v.sizeBytes !== share.capacity)
      return `volumes[${i}]: an exclusive volume takes the whole disk ${v.diskName} (${share.capacity} bytes)`;
    if (v.diskExclusive && volumes.filter((x) => x.diskName === v.diskName).length > 1)
      return `volumes[${i}]: disk ${v.diskName} is exclusive to one volume`;
    want.set(v.diskName, (want.get(v.diskName) ?? 0) + v.sizeBytes);
  }
  const held = new Map<string, number>();
  for (const share of shares) held.set(share.name, (held.get(share.name) ?? 0) + share.size);
  for (const [name, size] of held) {
    if ((want.get(name) ?? 0) !== size)
      return `resources: disk ${name} holds ${size} bytes, its volumes ${want.get(name) ?? 0}`;
  }
  return undefined;
}
