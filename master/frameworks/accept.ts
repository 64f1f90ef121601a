/**
 * Validation of an ACCEPT against the offers it names. It is pure: it either returns the plan
 * (tasks to launch, resources left over) or throws a coded error, so an invalid ACCEPT launches
 * nothing and changes nothing.
 */
import {
  Volume_Kind,
  type HostPath,
  type Offer,
  type Resources,
  type TaskInfo,
} from '../../proto/gen/galaxy/v1/common.js';
import { parseCapabilities } from '../../core/capabilities.js';
import { imageDenial } from '../../core/rootfs-image.js';
import { checkBind, volumePathDenial } from '../../core/host-paths.js';
import { diskVolumeDenial } from '../../core/disks.js';
import type { Accept } from '../../proto/gen/galaxy/v1/scheduler.js';
import { GalaxyError } from '../../core/errors.js';
import { countRanges, normalizeRanges, subtractRanges } from '../../core/ranges.js';
import {
  addResources,
  containsResources,
  emptyResources,
  formatResources,
  subtractResources,
  validateResources,
} from '../../core/resources.js';
import { checkId } from '../../core/validate.js';
import { claimHeld } from '../volumes/kept-volumes.js';

/** What an ACCEPT will do once validated. */
export interface AcceptPlan {
  readonly agentId: string;
  /** The allocation role of the offers ('' when they name none): the tasks run in it. */
  readonly role: string;
  readonly offers: readonly Offer[];
  readonly tasks: readonly TaskInfo[];
  /** True when the offers are revocable: the tasks run on revocable resources. */
  readonly revocable: boolean;
  /** Offered but not used: goes back to the allocator with the ACCEPT's filter (held volumes' bytes stay held). */
  readonly unused: Resources;
  /** Volume ids of the offers' held volumes that the tasks mount: their bytes are the tasks' now. */
  readonly claimed: readonly string[];
}

/**
 * Checks an ACCEPT by `frameworkId`.
 * @param lookupOffer finds an outstanding offer by id
 * @param taskExists true when the framework already has a live task with this id
 */
export function planAccept(
  frameworkId: string,
  accept: Accept,
  lookupOffer: (offerId: string) => Offer | undefined,
  taskExists: (taskId: string) => boolean,
): AcceptPlan {
  if (accept.offerIds.length === 0) {
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'ACCEPT names no offer ids');
  }
  const offers: Offer[] = [];
  const seen = new Set<string>();
  for (const offerId of accept.offerIds) {
    if (seen.has(offerId)) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `offer ${offerId} is named twice`);
    seen.add(offerId);
    const offer = lookupOffer(offerId);
    if (!offer) {
      throw new GalaxyError(
        'GALAXY_E_OFFER_UNKNOWN',
        `offer ${offerId.slice(0, 100)} is unknown or stale (already accepted, declined, rescinded or timed out); wait for new offers`,
      );
    }
    if (offer.frameworkId !== frameworkId) {
      throw new GalaxyError('GALAXY_E_OFFER_MISMATCH', `offer ${offerId} was made to another framework`);
    }
    if (offers[0] && offers[0].agentId !== offer.agentId) {
      throw new GalaxyError('GALAXY_E_OFFER_MISMATCH', `offers ${offers[0].id} and ${offerId} are on different agents`);
    }
    if (offers[0] && (offers[0].allocationRole ?? '') !== (offer.allocationRole ?? '')) {
      throw new GalaxyError(
        'GALAXY_E_OFFER_MISMATCH',
        `offers ${offers[0].id} and ${offerId} are of different roles (${offers[0].allocationRole ?? ''}, ${offer.allocationRole ?? ''}); one ACCEPT uses offers of one allocation role`,
      );
    }
    if (offers[0] && (offers[0].revocable === true) !== (offer.revocable === true)) {
      throw new GalaxyError(
        'GALAXY_E_REVOCABLE_MISMATCH',
        `offers ${offers[0].id} and ${offerId} mix revocable and regular resources; one ACCEPT uses one kind`,
      );
    }
    offers.push(offer);
  }
  const first = offers[0];
  if (!first) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'ACCEPT names no offer ids');
  let offered = emptyResources();
  for (const offer of offers) offered = addResources(offered, offer.resources ?? emptyResources());
  // Bytes held for a kept volume are for a task that mounts it, and for no other.
  const { claimed, stillHeld } = claimHeld(
    offers,
    accept.operations.flatMap((o) => (o.operation?.$case === 'launch' ? o.operation.launch.taskInfos : [])),
  );
  offered = subtractResources(offered, stillHeld);

  const tasks: TaskInfo[] = [];
  const ids = new Set<string>();
  let used = emptyResources();
  for (const [i, operation] of accept.operations.entries()) {
    const op = operation.operation;
    if (op?.$case !== 'launch') {
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `operations[${i}] is empty; LAUNCH is the supported operation`,
      );
    }
    for (const [j, task] of op.launch.taskInfos.entries()) {
      const where = `operations[${i}].launch.task_infos[${j}]`;
      checkTask(task, where, first);
      checkRevocable(task, where, first.revocable === true);
      if (ids.has(task.taskId) || taskExists(task.taskId)) {
        throw new GalaxyError(
          'GALAXY_E_TASK_DUPLICATE',
          `${where}: task id ${task.taskId} is already in use by this framework`,
        );
      }
      ids.add(task.taskId);
      const res = task.resources ?? emptyResources();
      if (countRanges(subtractRanges(res.ports, used.ports)) !== countRanges(normalizeRanges(res.ports))) {
        throw new GalaxyError(
          'GALAXY_E_OVERCOMMIT',
          `${where}: ports ${JSON.stringify(res.ports)} are already used by another task of this ACCEPT`,
        );
      }
      used = addResources(used, res);
      if (!containsResources(offered, used)) {
        throw new GalaxyError(
          'GALAXY_E_OVERCOMMIT',
          `${where}: the tasks need ${formatResources(used)} but the offers hold ${formatResources(offered)}`,
        );
      }
      tasks.push({ ...task, agentId: first.agentId });
    }
  }
  return {
    agentId: first.agentId,
    role: first.allocationRole ?? '',
    revocable: first.revocable === true,
    offers,
    tasks,
    unused: subtractResources(offered, used),
    claimed: claimed.map((c) => c.volumeId),
  };
}

/**
 * A task on revocable offers must say so (`on_revocable`: its agent may evict it), and a task that
 * says so needs revocable offers: a framework cannot slip a regular task onto lent resources.
 */
function checkRevocable(task: TaskInfo, where: string, revocable: boolean): void {
  if ((task.onRevocable === true) === revocable) return;
  throw new GalaxyError(
    'GALAXY_E_REVOCABLE_MISMATCH',
    revocable
      ? `${where}: the offers are revocable but task ${task.taskId} does not set on_revocable`
      : `${where}: task ${task.taskId} sets on_revocable but the offers are regular`,
  );
}

/**
 * Volumes: a path inside the sandbox (or an absolute one in the container's root, not /proc, /dev
 * or /sys), a size for tmpfs, and for binds a host path under the agent's allowed host paths
 * (docs/security.md, "Host paths"; the agent checks again on real paths).
 */
function checkVolumes(task: TaskInfo, where: string, allowed: readonly HostPath[]): void {
  const seen = new Set<string>();
  for (const [i, volume] of task.volumes.entries()) {
    const at = `${where}.volumes[${i}]`;
    const fail = (why: string): never => {
      throw new GalaxyError('GALAXY_E_TASK_INVALID', `${at}: ${why}`);
    };
    const denied = volumePathDenial(volume.path);
    if (denied !== undefined || volume.path.length > 4096) fail(denied ?? 'path is longer than 4096 characters');
    if (['stdout', 'stderr'].includes(volume.path.split('/')[0] ?? ''))
      fail(`path "${volume.path}" would hide the task's output`);
    if (seen.has(volume.path)) fail(`path "${volume.path}" is used twice`);
    seen.add(volume.path);
    if (volume.kind === Volume_Kind.TMPFS) {
      if (!(Number.isSafeInteger(volume.sizeBytes) && volume.sizeBytes > 0))
        fail('a tmpfs volume needs size_bytes > 0');
    } else if (volume.kind === Volume_Kind.BIND) {
      checkBind(at, volume.hostPath, volume.readOnly, allowed);
    } else if (volume.kind !== Volume_Kind.DISK) {
      fail('kind must be TMPFS, BIND or DISK');
    }
  }
  const disks = task.volumes.filter((v) => v.kind === Volume_Kind.DISK);
  const denied = diskVolumeDenial(disks, task.resources ?? emptyResources());
  if (denied !== undefined) throw new GalaxyError('GALAXY_E_TASK_INVALID', `${where}: ${denied}`);
}

/** Capabilities beyond the default set: known names only (their authority is the master's check). */
function checkContainer(task: TaskInfo, where: string): void {
  parseCapabilities(task.container?.capabilities ?? [], `${where}.container.capabilities`, 'GALAXY_E_TASK_INVALID');
  const image = task.container?.rootfs;
  const denial = image ? imageDenial(image) : undefined;
  if (denial !== undefined) throw new GalaxyError('GALAXY_E_TASK_INVALID', `${where}.container.rootfs: ${denial}`);
}

function checkTask(task: TaskInfo, where: string, offer: Offer): void {
  const agentId = offer.agentId;
  checkId(task.taskId, `${where}.task_id`, 'GALAXY_E_TASK_INVALID');
  if (task.agentId !== '' && task.agentId !== agentId) {
    throw new GalaxyError(
      'GALAXY_E_TASK_INVALID',
      `${where}: agent_id ${task.agentId} is not the offer's agent ${agentId}`,
    );
  }
  const res = task.resources;
  if (!res) throw new GalaxyError('GALAXY_E_TASK_INVALID', `${where}: resources are missing`);
  try {
    validateResources(res, `${where}.resources`);
  } catch (error) {
    throw new GalaxyError('GALAXY_E_TASK_INVALID', error instanceof GalaxyError ? error.detail : String(error));
  }
  if (res.cpus <= 0 && res.mem <= 0) {
    throw new GalaxyError('GALAXY_E_TASK_INVALID', `${where}: a task needs some cpus or mem`);
  }
  const command = task.command;
  if (!command || (command.shell.trim() === '' && command.argv.length === 0)) {
    throw new GalaxyError('GALAXY_E_TASK_INVALID', `${where}: command needs a shell string or argv`);
  }
  checkVolumes(task, where, offer.allowedHostPaths);
  checkContainer(task, where);
  if (!(task.killGraceS >= 0 && task.killGraceS <= 3600)) {
    throw new GalaxyError('GALAXY_E_TASK_INVALID', `${where}: kill_grace_s must be between 0 and 3600`);
  }
}
