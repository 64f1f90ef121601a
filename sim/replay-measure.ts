/**
 * What a replay measures, from what the replayer did (submissions) and what the agents saw (each
 * task's RUNNING and end, wall clock): pending delays per task in trace time, and one sample per
 * wall second of utilization, pending tasks, placements and kills. Pure bookkeeping, no I/O.
 */
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import type { TaskEventTuple } from './run-agents.js';
import type { TaskGroup } from './trace/workload.js';

/** One sample of the cluster, per wall second. */
export interface ReplaySample {
  /** Seconds since the replay began (wall) and the trace time it stands for. */
  readonly wallS: number;
  readonly traceS: number;
  /** Running tasks' share of the cell's cpus and memory (0..1), regular and revocable ones. */
  readonly cpuUtil: number;
  readonly memUtil: number;
  /** The part of `cpuUtil` and `memUtil` held by tasks on revocable resources (0 without `--oversubscribe`). */
  readonly revocableCpuUtil: number;
  readonly revocableMemUtil: number;
  /** Tasks submitted and not yet running (first attempts). */
  readonly pending: number;
  readonly running: number;
  /** Tasks that started running in this second (every attempt). */
  readonly placements: number;
  /** Tasks killed in this second (the replay kills nothing itself until its services end: preemptions). */
  readonly kills: number;
  /** Tasks on revocable resources evicted by their agents' QoS in this second. */
  readonly evictions: number;
}

/** The group and task index a Galaxy task id belongs to, or undefined for a task of nobody here. */
export function taskOrigin(taskId: string): { group: string; index: number } | undefined {
  // batch: <job>.<job uid>.<completion index>.<attempt> (older frameworks: without the uid)
  const batch = /^([A-Za-z0-9-]+)\.(?:[0-9a-f]+\.)?(\d+)\.(\d+)$/.exec(taskId);
  if (batch?.[1] !== undefined) return { group: batch[1], index: Number(batch[2]) };
  // AppMaster: <job>-<pod index>.<random hex>
  const pod = /^([A-Za-z0-9-]+)-(\d+)\.[0-9a-f]+$/.exec(taskId);
  if (pod?.[1] !== undefined) return { group: pod[1], index: Number(pod[2]) };
  return undefined;
}

interface GroupState {
  readonly group: TaskGroup;
  submittedAt?: number;
  /** Wall ms each task (by index within the group) first ran. */
  readonly firstRun: Map<number, number>;
}

/** Accumulates a replay's measurements. */
export class ReplayMeasure {
  private readonly groups = new Map<string, GroupState>();
  private readonly running = new Map<string, { cpus: number; mem: number; revocable: boolean }>();
  private cpusInUse = 0;
  private memInUse = 0;
  /** Tasks announced on revocable resources (`v`) whose RUNNING (`r`) is next. */
  private readonly announcedRevocable = new Set<string>();
  private revocableCpusInUse = 0;
  private revocableMemInUse = 0;
  private evictionsNow = 0;
  private submittedTasks = 0;
  private firstRuns = 0;
  private placementsNow = 0;
  private killsNow = 0;
  /** Every placement and end, for the totals. */
  placements = 0;
  ends = 0;
  kills = 0;
  /** Placements on revocable resources, and evictions of them by the agents' QoS. */
  revocablePlacements = 0;
  revocableEvictions = 0;
  /** Evicted tasks whose index ran again (a new attempt of the same completion index or pod). */
  rerunAfterEviction = 0;
  /** `group/index` of evicted tasks not yet run again. */
  private readonly evictedIndexes = new Set<string>();
  readonly samples: ReplaySample[] = [];

  constructor(
    groups: readonly TaskGroup[],
    private readonly capacity: { readonly cpus: number; readonly mem: number },
    private readonly speedup: number,
    private readonly startedAt: number,
    private readonly traceStartS: number,
  ) {
    for (const group of groups) this.groups.set(group.name, { group, firstRun: new Map() });
  }

  /** The replayer submitted `name` at wall `at` (ms). */
  submitted(name: string, at: number): void {
    const state = this.groups.get(name);
    if (!state || state.submittedAt !== undefined) return;
    state.submittedAt = at;
    this.submittedTasks += state.group.tasks.length;
  }

  /** Task events from the agents. */
  taskEvents(events: readonly TaskEventTuple[]): void {
    for (const [taskId, kind, at, state] of events) {
      const origin = taskOrigin(taskId);
      const group = origin && this.groups.get(origin.group);
      if (!origin || !group) continue;
      if (kind === 'v') this.announcedRevocable.add(taskId);
      else if (kind === 'k') {
        if (this.running.get(taskId)?.revocable !== true) continue;
        this.revocableEvictions += 1;
        this.evictionsNow += 1;
        this.evictedIndexes.add(`${origin.group}/${origin.index}`);
      } else if (kind === 'r') {
        if (this.running.has(taskId)) continue;
        const revocable = this.announcedRevocable.delete(taskId);
        if (this.evictedIndexes.delete(`${origin.group}/${origin.index}`)) this.rerunAfterEviction += 1;
        const use = { cpus: group.group.cpus, mem: group.group.mem, revocable };
        this.running.set(taskId, use);
        this.cpusInUse += use.cpus;
        this.memInUse += use.mem;
        if (revocable) {
          this.revocableCpusInUse += use.cpus;
          this.revocableMemInUse += use.mem;
          this.revocablePlacements += 1;
        }
        this.placements += 1;
        this.placementsNow += 1;
        if (!group.firstRun.has(origin.index)) {
          group.firstRun.set(origin.index, at);
          this.firstRuns += 1;
        }
      } else if (kind === 'e') {
        const use = this.running.get(taskId);
        if (!use) continue;
        this.running.delete(taskId);
        this.cpusInUse -= use.cpus;
        this.memInUse -= use.mem;
        if (use.revocable) {
          this.revocableCpusInUse -= use.cpus;
          this.revocableMemInUse -= use.mem;
        }
        this.ends += 1;
        if (state === TaskState.TASK_KILLED) {
          this.kills += 1;
          this.killsNow += 1;
        }
      }
    }
  }

  /** Takes the sample of the second that ends at wall `now` (ms). */
  sample(now: number): ReplaySample {
    const wallS = (now - this.startedAt) / 1000;
    const sample: ReplaySample = {
      wallS: Math.round(wallS * 10) / 10,
      traceS: Math.round(this.traceStartS + wallS * this.speedup),
      cpuUtil: this.capacity.cpus > 0 ? this.cpusInUse / this.capacity.cpus : 0,
      memUtil: this.capacity.mem > 0 ? this.memInUse / this.capacity.mem : 0,
      revocableCpuUtil: this.capacity.cpus > 0 ? this.revocableCpusInUse / this.capacity.cpus : 0,
      revocableMemUtil: this.capacity.mem > 0 ? this.revocableMemInUse / this.capacity.mem : 0,
      pending: this.submittedTasks - this.firstRuns,
      running: this.running.size,
      placements: this.placementsNow,
      kills: this.killsNow,
      evictions: this.evictionsNow,
    };
    this.placementsNow = 0;
    this.killsNow = 0;
    this.evictionsNow = 0;
    this.samples.push(sample);
    return sample;
  }

  /** Tasks submitted, and of those, how many have run. */
  progress(): { submitted: number; started: number; running: number } {
    return { submitted: this.submittedTasks, started: this.firstRuns, running: this.running.size };
  }

  /** True when every task of group `name` has run. */
  ran(name: string): boolean {
    const state = this.groups.get(name);
    return state !== undefined && state.firstRun.size >= state.group.tasks.length;
  }

  /** Groups with tasks submitted that never ran, and how many of each. */
  notRun(): { group: string; band: string; tasks: number }[] {
    const out: { group: string; band: string; tasks: number }[] = [];
    for (const state of this.groups.values()) {
      const missing = state.submittedAt === undefined ? 0 : state.group.tasks.length - state.firstRun.size;
      if (missing > 0) out.push({ group: state.group.name, band: state.group.band, tasks: missing });
    }
    return out;
  }

  /** Submit → first RUNNING of every task that ran, in trace seconds (wall × speed-up). */
  pendingDelays(): number[] {
    const delays: number[] = [];
    for (const state of this.groups.values()) {
      if (state.submittedAt === undefined) continue;
      for (const at of state.firstRun.values())
        delays.push((Math.max(0, at - state.submittedAt) / 1000) * this.speedup);
    }
    return delays;
  }
}

/**
 * Mean allocated cpu utilization, in percent (one decimal): of regular tasks only (`allocPct`),
 * and of regular and revocable ones (`withReclaimPct`, the cell's utilization with reclamation).
 * Over the samples while tasks pended (`window: 'pending'`: the cell was asked for more than it
 * held, so the figure is what the scheduler filled, not what the trace asked), or, when nothing
 * ever pended, while any task ran (`'running'`).
 */
export function utilization(samples: readonly ReplaySample[]): {
  allocPct: number;
  withReclaimPct: number;
  window: 'pending' | 'running';
} {
  const pending = samples.filter((s) => s.pending > 0 && s.running > 0);
  const window = pending.length > 0 ? 'pending' : 'running';
  const busy = pending.length > 0 ? pending : samples.filter((s) => s.running > 0);
  const mean = (f: (s: ReplaySample) => number): number =>
    busy.length === 0 ? 0 : Math.round((busy.reduce((n, s) => n + f(s), 0) / busy.length) * 1000) / 10;
  return { allocPct: mean((s) => s.cpuUtil - s.revocableCpuUtil), withReclaimPct: mean((s) => s.cpuUtil), window };
}

/** The `p`-th percentile (0..100) of `values` by nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}
