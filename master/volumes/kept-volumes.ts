/**
 * An agent's report of the persistent volumes it keeps with no container (docs/disks.md, "Held
 * volumes"), and which of an offer's held bytes an ACCEPT's tasks claim. Pure: the report is
 * hostile input, checked whole against the agent's disks.
 */
import { GalaxyError } from '../../core/errors.js';
import { disksOf, isVolumeId } from '../../core/disks.js';
import { emptyResources } from '../../core/resources.js';
import { heldResources } from '../../core/held-volumes.js';
import { checkId } from '../../core/validate.js';
import type { KeptVolume, Offer, Resources, Volume } from '../../proto/gen/galaxy/v1/common.js';
import { Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';

/** Most kept volumes one report may name. */
export const MAX_KEPT_VOLUMES = 10_000;

/** A kept volume's key on its agent: `<framework id>/<volume id>`. */
export function keptKey(v: Pick<KeptVolume, 'frameworkId' | 'volumeId'>): string {
  return `${v.frameworkId}/${v.volumeId}`;
}

/**
 * Checks an agent's kept volumes against its disks (`total`) and what its live tasks use of each
 * disk (`used`, bytes by disk name): every volume names one of its disks, a well-formed framework
 * id and volume id, a size above 0 and within the disk, no key twice; and per disk the kept bytes
 * plus the used ones fit its capacity. Returns them as given, or throws
 * `GALAXY_E_KEPT_VOLUMES_REFUSED` naming the first fault (the whole report is refused).
 */
export function checkKeptVolumes(
  volumes: readonly KeptVolume[],
  total: Resources,
  used: ReadonlyMap<string, number>,
): KeptVolume[] {
  const fail = (why: string): never => {
    throw new GalaxyError('GALAXY_E_KEPT_VOLUMES_REFUSED', `kept volumes refused: ${why}`);
  };
  if (volumes.length > MAX_KEPT_VOLUMES) fail(`${volumes.length} volumes, more than ${MAX_KEPT_VOLUMES}`);
  const disks = disksOf(total);
  const keys = new Set<string>();
  const kept = new Map<string, number>();
  for (const v of volumes) {
    checkId(v.frameworkId, 'framework id', 'GALAXY_E_KEPT_VOLUMES_REFUSED');
    if (!isVolumeId(v.volumeId)) fail(`volume id "${v.volumeId.slice(0, 100)}" is not pod/volume`);
    const key = keptKey(v);
    const disk = disks.find((d) => d.name === v.disk);
    if (!disk) fail(`volume ${key} is on disk "${v.disk.slice(0, 40)}", which the agent does not have`);
    if (!(Number.isSafeInteger(v.sizeBytes) && v.sizeBytes > 0)) fail(`volume ${key} has size ${v.sizeBytes}`);
    if (v.sizeBytes > (disk?.capacity ?? 0))
      fail(`volume ${key} of ${v.sizeBytes} bytes is bigger than disk ${v.disk} (${disk?.capacity ?? 0})`);
    if (keys.has(key)) fail(`volume ${key} is named twice`);
    keys.add(key);
    kept.set(v.disk, (kept.get(v.disk) ?? 0) + v.sizeBytes);
  }
  for (const [name, bytes] of kept) {
    const capacity = disks.find((d) => d.name === name)?.capacity ?? 0;
    const busy = used.get(name) ?? 0;
    if (bytes + busy > capacity)
      fail(`disk ${name}: kept volumes of ${bytes} bytes and tasks' ${busy} exceed its capacity ${capacity}`);
  }
  return volumes.map((v) => ({ ...v }));
}

/** The persistent disk volumes of a task's volumes, as kept volumes of `frameworkId` (for when it ends). */
export function persistentVolumesOf(
  frameworkId: string,
  volumes: readonly Volume[],
  resources?: Resources,
): KeptVolume[] {
  const shares = disksOf(resources ?? emptyResources());
  return volumes
    .filter((v) => v.kind === Volume_Kind.DISK && v.diskPersistent && isVolumeId(v.diskVolumeId))
    .map((v) => {
      const disk = shares.find((d) => d.name === v.diskName);
      return {
        frameworkId,
        volumeId: v.diskVolumeId,
        disk: v.diskName,
        sizeBytes: v.diskExclusive && disk ? disk.capacity : v.sizeBytes,
        exclusive: v.diskExclusive,
      };
    });
}

/**
 * Which of the offers' held volumes the tasks mount (on the disk they are held on): those bytes
 * become the tasks'. Returns the claimed ones and the bytes still held for the others, which no
 * task of the ACCEPT may use.
 */
export function claimHeld(
  offers: readonly Offer[],
  tasks: readonly { readonly volumes: readonly Volume[] }[],
): { claimed: KeptVolume[]; stillHeld: Resources } {
  const held = offers.flatMap((o) => o.heldVolumes);
  const mounted = tasks.flatMap((t) =>
    t.volumes
      .filter((v) => v.kind === Volume_Kind.DISK && v.diskPersistent)
      .map((v) => `${v.diskName}:${v.diskVolumeId}`),
  );
  const claimed = held.filter((h) => mounted.includes(`${h.disk}:${h.volumeId}`));
  return { claimed, stillHeld: heldResources(held.filter((h) => !claimed.includes(h))) };
}
