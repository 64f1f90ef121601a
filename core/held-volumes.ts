/**
 * The bytes an offer holds for its framework's kept persistent volumes (docs/disks.md, "Held
 * volumes"): they are in the offer's resources, but only a task that mounts that volume may use
 * them. The master (what goes back to the allocator) and the AppMaster's placement (which pod
 * may use them) count them alike, here.
 */
import type { KeptVolume, Offer, Resources } from '../proto/gen/galaxy/v1/common.js';
import { disksOf } from './disks.js';
import { emptyResources, subtractResources } from './resources.js';

/**
 * Resources of held volumes: their bytes on their disks, counted in `disk` too (media and
 * capacities from `total`; arithmetic needs only names and sizes).
 */
export function heldResources(volumes: readonly KeptVolume[], total: Resources = emptyResources()): Resources {
  const disks = disksOf(total);
  const shares = volumes.map((v) => {
    const disk = disks.find((d) => d.name === v.disk);
    return {
      name: v.disk,
      medium: disk?.medium ?? '',
      size: v.sizeBytes,
      capacity: disk?.capacity ?? 0,
      exclusive: false,
    };
  });
  const bytes = volumes.reduce((sum, v) => sum + v.sizeBytes, 0);
  return { ...emptyResources(), disk: bytes, ...(shares.length > 0 ? { namedDisks: { disks: shares } } : {}) };
}

/** An offer's resources but its held volumes' bytes: what any task of its framework may use. */
export function offerWithoutHeld(offer: Offer): Resources {
  const resources = offer.resources ?? emptyResources();
  if (offer.heldVolumes.length === 0) return resources;
  return subtractResources(resources, heldResources(offer.heldVolumes));
}
