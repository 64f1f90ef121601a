/**
 * Volumes as a spec writes them (the AppMaster's job specs and batch specs alike): a tmpfs of a
 * size, or a bind of a host path, read-only unless said otherwise; and their message form, as the
 * agents mount them.
 */
import { z } from 'zod';
import { neverAllowed, notNormal, volumePathDenial } from '../host-paths.js';
import { Volume, Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';
import { bytes } from './quantities.js';
import { DISK_MEDIA, MIN_DISK_BYTES, type DiskResource } from '../disks.js';

/** Most volumes one task or pod mounts. */
export const MAX_VOLUMES = 32;

/** Where a volume appears: relative, inside the sandbox; or absolute, that path in the container's root. */
const volumePath = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((p, ctx) => {
    const denied = volumePathDenial(p);
    if (denied !== undefined) ctx.addIssue({ code: 'custom', message: denied });
  });

/**
 * A host path to bind: absolute and real, never `/`, `/etc`, `/proc`, `/sys` or `/dev`; the
 * agents check it against their `--allowed-host-paths` too (docs/security.md, "Host paths").
 */
const hostPath = z
  .string()
  .max(4096)
  .superRefine((p, ctx) => {
    const denied = notNormal(p) ?? neverAllowed(p);
    if (denied !== undefined) ctx.addIssue({ code: 'custom', message: `host path ${p.slice(0, 100)} ${denied}` });
  });

const tmpfsVolume = z.strictObject({
  kind: z.literal('tmpfs'),
  path: volumePath,
  size: bytes,
});

const bindVolume = z.strictObject({
  kind: z.literal('bind'),
  path: volumePath,
  hostPath,
  /** Read-only unless false; a writable bind needs an agent that allows its host path with `:rw`. */
  readOnly: z.boolean().default(true),
});

/**
 * A volume on one of the agent's named disks (docs/disks.md): of a medium and a size (the least
 * disk an exclusive one takes whole); persistent ones outlive their container, kept for the pod
 * under `name` (default: the path's letters).
 */
const diskVolume = z.strictObject({
  kind: z.literal('disk'),
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'a volume name is letters, digits, _ . -, at most 63')
    .optional(),
  path: volumePath,
  medium: z.enum(DISK_MEDIA),
  size: bytes.refine((b) => b >= MIN_DISK_BYTES, 'a disk volume is at least 16MiB'),
  persistent: z.boolean().default(false),
  exclusive: z.boolean().default(false),
});

/** A volume in the container (batch tasks): tmpfs or bind. */
export const VolumeSchema = z.discriminatedUnion('kind', [tmpfsVolume, bindVolume]);

/** A volume of an AppMaster pod: tmpfs, bind, or on a named disk. */
export const PodVolumeSchema = z.discriminatedUnion('kind', [tmpfsVolume, bindVolume, diskVolume]);

/** A validated volume. */
export type VolumeSpec = z.output<typeof PodVolumeSchema>;

/** A validated disk volume. */
export type DiskVolumeSpec = Extract<VolumeSpec, { kind: 'disk' }>;

/** A disk volume's name: as given, or its path's letters (`/var/data` → `var-data`). */
export function diskVolumeName(v: DiskVolumeSpec): string {
  return (
    v.name ??
    (v.path
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 63) ||
      'volume')
  );
}

/**
 * The volume as the agent mounts it. A disk volume needs the disk share placement picked for it
 * (`disk`), and a persistent one the key it is kept under (`key`, e.g. `<pod>/<volume>`).
 */
export function volumeToProto(v: VolumeSpec, disk?: DiskResource, key?: string): Volume {
  if (v.kind === 'tmpfs') return Volume.fromPartial({ kind: Volume_Kind.TMPFS, path: v.path, sizeBytes: v.size });
  if (v.kind === 'bind')
    return Volume.fromPartial({ kind: Volume_Kind.BIND, path: v.path, hostPath: v.hostPath, readOnly: v.readOnly });
  return Volume.fromPartial({
    kind: Volume_Kind.DISK,
    path: v.path,
    sizeBytes: disk?.size ?? v.size,
    diskName: disk?.name ?? '',
    diskMedium: v.medium,
    diskPersistent: v.persistent,
    diskExclusive: v.exclusive,
    diskVolumeId: v.persistent ? (key ?? '') : '',
  });
}

/**
 * A volume message (an API request) in the schema's input form; a kind the schema does not know is
 * passed on as written, for the schema to name.
 */
export function volumeInputFromProto(v: Volume): Record<string, unknown> {
  if (v.kind === Volume_Kind.TMPFS) return { kind: 'tmpfs', path: v.path, size: v.sizeBytes };
  if (v.kind === Volume_Kind.BIND) return { kind: 'bind', path: v.path, hostPath: v.hostPath, readOnly: v.readOnly };
  return { kind: Volume_Kind[v.kind], path: v.path };
}
