/**
 * Volumes as a spec writes them (the AppMaster's job specs and batch specs alike): a tmpfs of a
 * size, or a bind of a host path, read-only unless said otherwise; and their message form, as the
 * agents mount them.
 */
import { z } from 'zod';
import { neverAllowed, notNormal, volumePathDenial } from '../host-paths.js';
import { Volume, Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';
import { bytes } from './quantities.js';

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

/** A volume in the container. */
export const VolumeSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('tmpfs'),
    path: volumePath,
    size: bytes,
  }),
  z.strictObject({
    kind: z.literal('bind'),
    path: volumePath,
    hostPath,
    /** Read-only unless false; a writable bind needs an agent that allows its host path with `:rw`. */
    readOnly: z.boolean().default(true),
  }),
]);

/** A validated volume. */
export type VolumeSpec = z.output<typeof VolumeSchema>;

/** The volume as the agent mounts it. */
export function volumeToProto(v: VolumeSpec): Volume {
  return v.kind === 'tmpfs'
    ? Volume.fromPartial({ kind: Volume_Kind.TMPFS, path: v.path, sizeBytes: v.size })
    : Volume.fromPartial({ kind: Volume_Kind.BIND, path: v.path, hostPath: v.hostPath, readOnly: v.readOnly });
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
