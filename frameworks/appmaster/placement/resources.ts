/**
 * What one pod of a job asks of an agent: the resources an offer must hold, the limits the
 * agent's isolators apply beyond them, and the volumes mounted into its sandbox.
 */
import { Limits, type Resources, type Volume } from '../../../proto/gen/galaxy/v1/common.js';
import { diskVolumeName, volumeToProto } from '../../../core/spec/volumes.js';
import { disksOf } from '../../../core/disks.js';
import { normalizeRanges } from '../../../core/ranges.js';
import type { JobSpec } from '../spec/schema.js';

/**
 * The resources one pod reserves: its cpu, hard memory and disk, and exactly the port numbers
 * it was given (fixed and dynamic). Pass `[]` for the scalars alone.
 */
export function podResources(spec: JobSpec, ports: readonly number[]): Resources {
  const r = spec.resources;
  return {
    cpus: r.cpu.millicores,
    mem: r.memory.hard,
    disk: r.disk?.size ?? 0,
    gpus: 0,
    ports: normalizeRanges(ports.map((port) => ({ begin: port, end: port }))),
  };
}

/** The limits the agent's isolators hold a pod to; 0 means the agent's default (unlimited). */
export function podLimits(spec: JobSpec): Limits {
  const r = spec.resources;
  return Limits.fromPartial({
    cpuExcess: r.cpu.excess,
    memSoft: r.memory.soft ?? 0,
    pidsMax: r.pids ?? 0,
    blkioWeight: r.blkio?.weight ?? 0,
    readBps: r.disk?.readBps ?? 0,
    writeBps: r.disk?.writeBps ?? 0,
    readIops: r.disk?.readIops ?? 0,
    writeIops: r.disk?.writeIops ?? 0,
    netTxBps: r.tcp?.txBps ?? 0,
    netRxBps: r.tcp?.rxBps ?? 0,
  });
}

/**
 * The key a pod's persistent volume is kept under on its agent (the agent adds the framework's
 * id): `<pod>.<job uid>/<volume>`. The job's uid (unique to one submission) keeps a volume of a
 * removed job, left on an agent that was away, from the next job of the same name, whoever
 * submits it; records from before uids keep `<pod>/<volume>`.
 */
export function volumeKey(podId: string, volume: string, jobUid?: string): string {
  return jobUid ? `${podId}.${jobUid.slice(0, 12)}/${volume}` : `${podId}/${volume}`;
}

/**
 * The pod's volumes as the agent mounts them: tmpfs of a size, a bind of a host path, or a volume
 * on the disk placement picked (the shares in `resources`, in the order of the disk volumes); a
 * persistent one keyed by {@link volumeKey}.
 */
export function podVolumes(spec: JobSpec, podId: string, resources?: Resources, jobUid?: string): Volume[] {
  const shares = disksOf(resources ?? { cpus: 0, mem: 0, disk: 0, gpus: 0, ports: [] });
  let next = 0;
  return spec.volumes.map((v) => {
    if (v.kind !== 'disk') return volumeToProto(v);
    const share = shares[next];
    next += 1;
    return volumeToProto(v, share, volumeKey(podId, diskVolumeName(v), jobUid));
  });
}
