/**
 * `galaxy volume list` and `galaxy volume destroy` (docs/disks.md): the persistent disk volumes
 * of the caller's jobs' pods, as the AppMaster records them (`PodRecord.kept`), and deleting one
 * by hand. Listing needs `job:list` on the job, destroying `job:update` (and `job:any` for
 * another user's job): the job's owner or an admin. A refusal changes nothing.
 */
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import type { KeyedSerial } from '../../core/keyed-serial.js';
import { diskVolumeName } from '../../core/spec/volumes.js';
import type { VolumesInfo } from '../../proto/gen/galaxy/v1/appmaster.js';
import { ownedJob } from './admission.js';
import type { AppMasterContext } from './context.js';
import type { JobState } from './job-state.js';
import type { PodRecord } from './model.js';
import { diskVolumesOf } from './placement/disks.js';
import { volumeKey } from './placement/resources.js';

/** What a listed volume is doing: mounted by the pod's container, kept for its next one, or going. */
export type VolumeState = 'in use' | 'kept' | 'destroying';

/** True when the pod has a container (launched or running): its kept volumes are mounted. */
function hasContainer(pod: PodRecord): boolean {
  return pod.taskId !== '';
}

/** The persistent volumes of `job`'s pods, pod by pod, with their sizes and media from its spec. */
export function jobVolumes(job: JobState): VolumesInfo[] {
  const out: VolumesInfo[] = [];
  for (const pod of job.record.pods) {
    const specs = new Map(diskVolumesOf(job.specOf(pod.revision).volumes).map((v) => [diskVolumeName(v), v] as const));
    const row = (volume: string, agentId: string, disk: string, state: VolumeState): VolumesInfo => ({
      job: job.record.name,
      podId: pod.podId,
      volume,
      agentId,
      hostname: pod.agentId === agentId ? pod.hostname : '',
      disk,
      medium: specs.get(volume)?.medium ?? '',
      sizeBytes: specs.get(volume)?.size ?? 0,
      state,
    });
    for (const [volume, disk] of Object.entries(pod.kept?.disks ?? {}))
      out.push(row(volume, pod.kept?.agentId ?? '', disk, hasContainer(pod) ? 'in use' : 'kept'));
    for (const [volume, at] of Object.entries(pod.volumesDestroying ?? {}))
      out.push(row(volume, at.agentId, at.disk, 'destroying'));
  }
  return out;
}

/**
 * Takes volume `volume` out of the pod's record (the caller sends the agent the destroy): the
 * pod's next container is placed without it, and gets a new, empty one. A pod with a container
 * is refused (`GALAXY_E_VOLUME_IN_USE`) unless `force`: then the volume is listed as destroying
 * until the pod's next launch. Pure on the record: throws before changing anything.
 */
export function takeVolume(
  pod: PodRecord,
  volume: string,
  force: boolean,
): { readonly agentId: string; readonly disk: string } {
  const disk = pod.kept?.disks[volume];
  if (pod.kept === undefined || disk === undefined) {
    const known = Object.keys(pod.kept?.disks ?? {});
    throw new GalaxyError(
      'GALAXY_E_VOLUME_UNKNOWN',
      `pod ${pod.podId} keeps no persistent volume "${volume.slice(0, 64)}"${known.length > 0 ? `; it keeps: ${known.join(', ')}` : ''}`,
    );
  }
  if (hasContainer(pod) && !force)
    throw new GalaxyError(
      'GALAXY_E_VOLUME_IN_USE',
      `volume ${volume} of pod ${pod.podId} is mounted by its running container; stop the pod first or pass --force (it is then deleted when that container ends)`,
    );
  const { agentId } = pod.kept;
  const disks = Object.fromEntries(Object.entries(pod.kept.disks).filter(([name]) => name !== volume));
  pod.kept = Object.keys(disks).length > 0 ? { agentId, disks } : undefined;
  if (pod.kept === undefined) delete pod.kept;
  if (hasContainer(pod)) pod.volumesDestroying = { ...pod.volumesDestroying, [volume]: { agentId, disk } };
  return { agentId, disk };
}

/** The volume verbs, run in the job verbs' per-job order. */
export class VolumeVerbs {
  constructor(
    private readonly ctx: AppMasterContext,
    private readonly serial: KeyedSerial,
  ) {}

  /** The volumes of one job (`job:list` on it) or of every job the caller may list. */
  async list(job: string, caller: Principal = OPEN_PRINCIPAL): Promise<VolumesInfo[]> {
    const { book, tenancy } = this.ctx;
    if (job !== '') {
      const state = book.job(job);
      await tenancy.authorizeJob(caller, ownedJob(state), 'job:list');
      return jobVolumes(state);
    }
    const visible = await tenancy.jobFilter(caller);
    return book
      .all()
      .filter((j) => visible(ownedJob(j)))
      .sort((a, b) => (a.record.name < b.record.name ? -1 : 1))
      .flatMap(jobVolumes);
  }

  /**
   * Destroys one pod's persistent volume: `job:update` on the job (the owner, or an admin with
   * `job:any`). The record is stored before the agent is told, so a failed store changes nothing.
   */
  async destroy(
    name: string,
    podId: string,
    volume: string,
    force: boolean,
    caller: Principal = OPEN_PRINCIPAL,
  ): Promise<VolumesInfo> {
    return this.serial.run(name, async () => {
      const { book, tenancy, log } = this.ctx;
      const job = book.job(name);
      await tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      const pod = job.pod(podId);
      const before = jobVolumes(job).find((v) => v.podId === podId && v.volume === volume && v.state !== 'destroying');
      const driver = this.ctx.driver();
      if (!driver) throw new GalaxyError('GALAXY_E_UNAVAILABLE', 'the AppMaster is not subscribed to the master');
      const { kept, volumesDestroying } = pod.record;
      const { agentId } = takeVolume(pod.record, volume, force);
      try {
        await book.save(job);
      } catch (error) {
        pod.record.kept = kept;
        pod.record.volumesDestroying = volumesDestroying;
        if (kept === undefined) delete pod.record.kept;
        if (volumesDestroying === undefined) delete pod.record.volumesDestroying;
        throw error;
      }
      book.touch(job);
      // The agent deletes it now, or when the container that has it mounted ends; an agent that
      // is away keeps it (logged): its operator removes it (docs/disks.md).
      await driver.destroyVolume(agentId, volumeKey(podId, volume, job.record.uid)).catch((error: unknown) => {
        log.warn({ job: name, pod: podId, volume, agentId, err: String(error) }, 'persistent volume not destroyed');
      });
      log.info({ job: name, pod: podId, volume, agentId, by: caller.user, force }, 'persistent volume destroyed');
      return { ...(before as VolumesInfo), state: force && pod.record.taskId !== '' ? 'destroying' : 'destroyed' };
    });
  }
}
