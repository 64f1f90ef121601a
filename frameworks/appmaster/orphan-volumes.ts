/**
 * Orphaned persistent volumes (docs/disks.md, "Orphaned volumes"): a volume whose job was removed,
 * or that was destroyed by hand, while its agent was away stays on that agent, and the master
 * holds its bytes for the AppMaster: they come in its offers as `held_volumes`. A held volume that
 * no pod of a job the AppMaster knows keeps on that agent is such an orphan, and is destroyed.
 *
 * Why this never takes a live pod's data: a volume's key carries its job's uid (one submission),
 * the AppMaster knows every job before it subscribes (it recovers them from its store first), and
 * a pod's `kept` is set in memory when its container is placed, before the agent makes the volume.
 */
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { JobBook } from './job-book.js';
import { volumeKey } from './placement/resources.js';

/** A volume to destroy: its agent and its key. */
export interface OrphanVolume {
  readonly agentId: string;
  readonly volumeId: string;
}

/** `agentId` and key of every persistent volume a pod of `book` keeps. */
function keptVolumes(book: JobBook): Set<string> {
  const kept = new Set<string>();
  for (const job of book.all())
    for (const pod of job.pods()) {
      const at = pod.record.kept;
      if (!at) continue;
      for (const volume of Object.keys(at.disks))
        kept.add(`${at.agentId}\n${volumeKey(pod.record.podId, volume, job.record.uid)}`);
    }
  return kept;
}

/** The held volumes of `offers` that no pod of `book` keeps on the offer's agent. */
export function orphanVolumes(offers: readonly Offer[], book: JobBook): OrphanVolume[] {
  const held = offers.flatMap((o) => o.heldVolumes.map((v) => ({ agentId: o.agentId, volumeId: v.volumeId })));
  if (held.length === 0) return [];
  const kept = keptVolumes(book);
  return held.filter((v) => !kept.has(`${v.agentId}\n${v.volumeId}`));
}
