/**
 * A trace as the replayer submits it, whatever trace it came from: groups of identical tasks
 * (one batch job or one service each), when they arrive in trace time, and what the trace's own
 * scheduler did with them (its pending delays), for the report's comparison.
 */

/** Borg's priority bands as Galaxy names them. */
export type TraceBand = 'best-effort' | 'batch' | 'production' | 'monitoring';

/** Identical tasks of one trace job that arrived together: submitted as one Galaxy job. */
export interface TaskGroup {
  /** A Galaxy job name: letters, digits and dashes. */
  readonly name: string;
  /** The trace's job id. */
  readonly traceJob: string;
  /** Arrival, seconds of trace time. */
  readonly submitS: number;
  readonly band: TraceBand;
  /** Per task: millicores and bytes (already scaled from the trace's normalized values). */
  readonly cpus: number;
  readonly mem: number;
  readonly gpus: number;
  /** How long each task runs, trace seconds, and how it ends. */
  readonly durationS: number;
  readonly exitCode: number;
  /** The trace's task indexes in this group. */
  readonly tasks: readonly number[];
  /** At most one task of the group per machine (the trace's different-machine constraint). */
  readonly differentMachine: boolean;
  /**
   * The trace scheduler's own pending delays of these tasks (trace seconds): of every schedule
   * after its submit, and of each task's first schedule only (what the replay measures for Galaxy).
   */
  readonly traceDelaysS: readonly number[];
  readonly traceFirstDelaysS: readonly number[];
}

/** A replayable trace. */
export interface Workload {
  /** Where it came from, e.g. `google2011 task_events_sample`. */
  readonly source: string;
  /** Groups in arrival order. */
  readonly groups: readonly TaskGroup[];
  /** What the trace's scheduler is called in the report (`Borg`). */
  readonly scheduler: string;
}

/** The band of a google2011 priority (0–1 best-effort, 2–8 batch, 9–10 production, 11 monitoring). */
export function bandOfPriority(priority: number): TraceBand {
  if (priority <= 1) return 'best-effort';
  if (priority <= 8) return 'batch';
  if (priority <= 10) return 'production';
  return 'monitoring';
}

/** Tasks in every group. */
export function taskCount(workload: Workload): number {
  let n = 0;
  for (const group of workload.groups) n += group.tasks.length;
  return n;
}

/** The trace scheduler's pending delays over every group: of every schedule, and of first schedules. */
export function traceDelays(workload: Workload): { all: number[]; first: number[] } {
  return {
    all: workload.groups.flatMap((g) => g.traceDelaysS),
    first: workload.groups.flatMap((g) => g.traceFirstDelaysS),
  };
}
