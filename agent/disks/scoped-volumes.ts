/**
 * A persistent disk volume is the framework's: the agent prefixes its key with the id of the
 * framework that launched the task (the master's word, never the task's), so no other framework
 * can name, and so mount, another's volume (docs/disks.md, "Whose volume").
 */
import { Volume_Kind, type Volume } from '../../proto/gen/galaxy/v1/common.js';

/** `volumes` with each persistent disk volume's key scoped to `frameworkId`. */
export function scopeDiskVolumes(volumes: readonly Volume[], frameworkId: string): Volume[] {
  return volumes.map((v) =>
    v.kind === Volume_Kind.DISK && v.diskPersistent ? { ...v, diskVolumeId: `${frameworkId}/${v.diskVolumeId}` } : v,
  );
}
