/**
 * Feasibility of one pod on one host: the constraints first, then its ports. A pod that fits
 * comes out with the exact resources it would reserve there.
 */
import type { Resources } from '../../../proto/gen/galaxy/v1/common.js';
import type { JobSpec } from '../spec/schema.js';
import { unmetConstraint } from './constraints.js';
import type { Host } from './host.js';
import { pickPorts } from './ports.js';
import { podResources } from './resources.js';
import { diskVolumesOf, pickDisks } from './disks.js';
import { disksOf, withDisks } from '../../../core/disks.js';

/** The pod fits (with its ports and resources there), or the first reason it does not. */
export type Fit =
  | { readonly ok: true; readonly ports: Record<string, number>; readonly resources: Resources }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether the pod fits on the host; `need` is {@link podResources} of the spec without ports.
 * `kept` names the disks the pod's persistent volumes are kept on (docs/disks.md).
 */
export function fitPod(spec: JobSpec, need: Resources, host: Host, kept?: Readonly<Record<string, string>>): Fit {
  const unmet = unmetConstraint(spec, need, host);
  if (unmet !== undefined) return { ok: false, reason: unmet };
  const pick = pickPorts(spec.ports, host.free.ports);
  if (!pick.ok) return pick;
  const resources = podResources(spec, Object.values(pick.ports));
  const volumes = diskVolumesOf(spec.volumes);
  if (volumes.length === 0) return { ok: true, ports: pick.ports, resources };
  const disks = pickDisks(volumes, disksOf(host.free), kept);
  if (!disks.ok) return disks;
  const bytes = disks.shares.reduce((sum, d) => sum + d.size, 0);
  return {
    ok: true,
    ports: pick.ports,
    resources: { ...resources, disk: resources.disk + bytes, ...withDisks(disks.shares) },
  };
}
