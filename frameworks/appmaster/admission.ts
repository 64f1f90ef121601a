/**
 * What a job asks of its owner's quota, whose it is, and the one-at-a-time rule for the verbs of
 * one job: a verb checks authority and admits the footprint (both wait on the coordinator) before
 * it changes anything, so two verbs on the same job must not interleave between admission and
 * change.
 */
import { OPEN_PRINCIPAL } from '../../core/auth/principal.js';
import type { OwnedJob } from '../../core/tenancy/ownership.js';
import type { Footprint } from '../../core/tenancy/quotas.js';
import { footprintOf, largestFootprint } from '../sdk/tenancy.js';
import type { JobState } from './job-state.js';
import type { JobRecord } from './model.js';
import type { DiskMedium } from '../../core/disks.js';
import { diskVolumesOf } from './placement/disks.js';
import { podResources } from './placement/resources.js';
import type { JobSpec } from './spec/schema.js';

/**
 * replicas × per-pod resources of `spec` (`replicas` overrides the spec's count): its sandbox disk
 * and its disk volumes count in `disk`, the volumes also per medium (an exclusive volume by the
 * size it asks for: the disk it gets may be bigger).
 */
export function specFootprint(spec: JobSpec, replicas = spec.replicas): Footprint {
  const pod = podResources(spec, []);
  const media: Partial<Record<DiskMedium, number>> = {};
  let volumes = 0;
  for (const v of diskVolumesOf(spec.volumes)) {
    media[v.medium] = (media[v.medium] ?? 0) + v.size;
    volumes += v.size;
  }
  return footprintOf({ cpus: pod.cpus, mem: pod.mem, disk: pod.disk + volumes, ...media }, replicas, spec.pool);
}

/**
 * The footprint of a job whose pods may run any of `specs` (an update holds old and new
 * revisions at once): per resource, the largest of them.
 */
export function jobFootprint(specs: readonly JobSpec[], replicas?: number): Footprint {
  const [first, ...rest] = specs.map((s) => specFootprint(s, replicas));
  if (!first) throw new Error('a job has at least one spec');
  return largestFootprint(first, ...rest);
}

/** Whose a job is: its owner, or (records from before tenancy) the open server's caller. */
export function ownerOf(record: JobRecord): string {
  return record.owner ?? OPEN_PRINCIPAL.user;
}

/** The job as the ownership rule sees it (`core/tenancy/ownership.ts`): name, owner, and the pool of its current spec. */
export function ownedJob(job: JobState): OwnedJob {
  return { name: job.record.name, owner: ownerOf(job.record), pool: job.spec.pool };
}

export { KeyedSerial } from '../../core/keyed-serial.js';
