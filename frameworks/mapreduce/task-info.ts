/**
 * The task of one MapReduce slot as the master launches it: the worker command with the slot's
 * work in its environment, the owner's label, the batch band and, for a map, the read-only bind
 * of the input directory.
 */
import { join } from 'node:path';
import { packageRoot } from '../../core/paths.js';
import { Band, Volume, Volume_Kind, type Resources, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { userLabel } from '../sdk/tenancy.js';
import type { MapReduceRun, Slot } from './job.js';
import type { WorkerTask } from './worker.js';

/** The worker every task runs: `node dist/frameworks/mapreduce/worker.js`. */
export function workerCommand(): string[] {
  return [process.execPath, join(packageRoot(), 'dist', 'frameworks', 'mapreduce', 'worker.js')];
}

/** Where and as whom a slot's task runs. */
export interface SlotPlacement {
  readonly taskId: string;
  readonly agentId: string;
  /** The job's per-task resources and the port. */
  readonly resources: Resources;
  readonly port: number;
  /** The user whose role the task runs in. */
  readonly owner: string;
}

/** The TaskInfo of `slot` of `job`, placed as `placement` says. */
export function slotTaskInfo(job: MapReduceRun, slot: Slot, placement: SlotPlacement): TaskInfo {
  const { taskId, agentId, resources, port, owner } = placement;
  const task: WorkerTask =
    slot.kind === 'map'
      ? { kind: 'map', index: slot.index, split: job.splits[slot.index] ?? [], reduces: job.spec.reduces, port }
      : { kind: 'reduce', index: slot.index, maps: job.maps.map((m) => m.address), port };
  return {
    taskId,
    name: `${job.spec.name}[${slot.kind} ${slot.index}]`,
    agentId,
    resources,
    command: { shell: '', argv: workerCommand(), env: { GALAXY_MR_TASK: JSON.stringify(task) }, user: '' },
    labels: [{ key: 'band', value: 'batch' }, { key: 'job', value: job.spec.name }, userLabel(owner)],
    killGraceS: 1,
    // The input is a host directory: maps see it read-only, at the same path (agents allow it
    // with --allowed-host-paths; docs/mapreduce.md).
    volumes:
      slot.kind === 'map'
        ? [
            Volume.fromPartial({
              kind: Volume_Kind.BIND,
              path: job.spec.input,
              hostPath: job.spec.input,
              readOnly: true,
            }),
          ]
        : [],
    band: Band.BAND_BATCH,
    revocable: false,
  };
}
