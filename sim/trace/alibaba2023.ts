/**
 * Alibaba's GPU trace (`cluster-trace-gpu-v2023`, "openb") as a {@link Workload}. Its pod list has
 * one row per pod: `name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
 * creation_time, deletion_time, scheduled_time` (seconds). A pod arrives at its creation time and
 * runs from its schedule to its deletion; a pod the trace saw fail ends with exit code 1. Alibaba's
 * own pending delay is its scheduled time minus its creation time.
 *
 * How it maps onto Galaxy:
 * - every pod goes through the batch framework, which places GPUs (the AppMaster's pods ask for
 *   none): `BE` pods in the `best-effort` band, `LS`, `Guaranteed` and `Burstable` ones in `batch`;
 * - GPUs are whole: a pod sharing a GPU (`gpu_milli` below 1000) asks for `num_gpu` whole ones, so
 *   the cell is tighter than Alibaba's, which packs shared GPUs;
 * - pods the trace never scheduled (`Pending` to the end, no scheduled time) are left out: there
 *   is no delay of Alibaba's to compare and no lifetime to run;
 * - a handful of pods were created weeks before the rest (the cell's long-running pods): every pod
 *   created before the trace's continuous stretch (no gap of a day between arrivals from there on)
 *   arrives at its start, so a replay does not wait out the empty weeks.
 */
import { GalaxyError } from '../../core/errors.js';
import type { TaskGroup, TraceBand, Workload } from './workload.js';

const MiB = 1024 ** 2;
const HEADER =
  'name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time';
/** A gap between arrivals this long (s) ends the trace's early stretch. */
const GAP_S = 86_400;

/** The Galaxy band of an Alibaba QoS class. */
export function bandOfQos(qos: string): TraceBand {
  return qos === 'BE' ? 'best-effort' : 'batch';
}

interface PodRow {
  readonly index: number;
  readonly cpus: number;
  readonly mem: number;
  readonly gpus: number;
  readonly band: TraceBand;
  readonly failed: boolean;
  readonly createdS: number;
  readonly scheduledS: number;
  readonly deletedS: number;
}

/** Parses the pod list's CSV text (with its header) into a workload of one group per pod, in arrival order. */
export function alibabaWorkload(text: string, source: string): Workload {
  const lines = text.split('\n');
  if (lines[0]?.trim() !== HEADER)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${source}: the first line must be the header "${HEADER}"`);
  const pods: PodRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const c = line.split(',');
    if (c.length !== 11)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `${source} line ${i + 1}: expected 11 columns, got ${c.length}`,
      );
    const [, cpu, mem, gpus, , , qos = '', phase, created, deleted, scheduled] = c;
    if (scheduled === '' || deleted === '') continue;
    const row = {
      index: i - 1,
      cpus: Number(cpu),
      mem: Number(mem) * MiB,
      gpus: Number(gpus),
      band: bandOfQos(qos),
      failed: phase === 'Failed',
      createdS: Number(created),
      scheduledS: Number(scheduled),
      deletedS: Number(deleted),
    };
    const numbers = [row.cpus, row.mem, row.gpus, row.createdS, row.scheduledS, row.deletedS];
    if (numbers.some((n) => !Number.isFinite(n) || n < 0) || row.scheduledS < row.createdS)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `${source} line ${i + 1}: resources and times must be numbers ≥ 0, scheduled at or after created`,
      );
    pods.push(row);
  }
  pods.sort((a, b) => a.createdS - b.createdS || a.index - b.index);
  let startS = pods[0]?.createdS ?? 0;
  for (let i = 1; i < pods.length; i++) {
    const gap = (pods[i]?.createdS ?? 0) - (pods[i - 1]?.createdS ?? 0);
    if (gap >= GAP_S) startS = pods[i]?.createdS ?? startS;
  }
  const groups: TaskGroup[] = pods.map((pod) => {
    const delayS = pod.scheduledS - pod.createdS;
    return {
      name: `a${pod.index}`,
      traceJob: String(pod.index),
      submitS: Math.max(startS, pod.createdS),
      band: pod.band,
      cpus: Math.max(1, pod.cpus),
      mem: Math.max(MiB, pod.mem),
      gpus: pod.gpus,
      durationS: Math.max(1, pod.deletedS - pod.scheduledS),
      exitCode: pod.failed ? 1 : 0,
      tasks: [0],
      differentMachine: false,
      traceDelaysS: [delayS],
      traceFirstDelaysS: [delayS],
    };
  });
  return { source, groups, scheduler: 'Alibaba' };
}
