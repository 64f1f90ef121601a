/**
 * The resource estimator (Mesos' oversubscription): how much cpu and memory the agent's regular
 * tasks were allocated and do not use, less a safety margin, smoothed so that the estimate the
 * master offers as revocable does not flap. Pure: the controller (./controller.ts) samples usage
 * and carries the decisions out.
 */

/** One task as one usage sample sees it. cpus in millicores, mem in bytes. */
export interface TaskLoad {
  /** `frameworkId/taskId`. */
  readonly key: string;
  /** What it was allocated. */
  readonly allocCpus: number;
  readonly allocMem: number;
  /** What it used over the last interval (cpu: average rate) and now (mem). */
  readonly usedCpus: number;
  readonly usedMem: number;
  /** Cpu seconds it was throttled during the last interval (its CFS quota held it back). */
  readonly throttledS: number;
  /** True for a task on revocable resources. */
  readonly onRevocable: boolean;
  /** When it started (ms), for eviction order. */
  readonly startedAt: number;
}

/** The estimator's tuning (`galaxy agent --oversubscribe-*`). */
export interface EstimatorTuning {
  /**
   * Fraction of each regular task's allocation never lent (0..1): usage may grow this much before
   * the revocable tasks on top are in the way. Default 0.2.
   */
  readonly margin: number;
  /** Samples whose lowest estimate is reported: a rise is believed only once it lasts. Default 6. */
  readonly window: number;
  /** Granularity of a reported estimate: it changes by whole steps only. Defaults 100 mcpu, 64 MiB. */
  readonly cpuStep: number;
  readonly memStep: number;
}

/** Defaults of {@link EstimatorTuning}. */
export const DEFAULT_ESTIMATOR_TUNING: EstimatorTuning = {
  margin: 0.2,
  window: 6,
  cpuStep: 100,
  memStep: 64 * 1024 * 1024,
};

/** An estimate of revocable cpus (millicores) and mem (bytes). */
export interface Estimate {
  readonly cpus: number;
  readonly mem: number;
}

/**
 * What the regular tasks leave unused now, beyond the margin: per task, `alloc × (1 − margin) −
 * used`, floored at 0 (a task over its allocation lends nothing, and takes nothing from others).
 * Tasks on revocable resources lend nothing.
 */
export function headroom(tasks: readonly TaskLoad[], margin: number): Estimate {
  let cpus = 0;
  let mem = 0;
  for (const t of tasks) {
    if (t.onRevocable) continue;
    cpus += Math.max(0, t.allocCpus * (1 - margin) - t.usedCpus);
    mem += Math.max(0, t.allocMem * (1 - margin) - t.usedMem);
  }
  return { cpus: Math.floor(cpus), mem: Math.floor(mem) };
}

/** The smoother's state: the last raw estimates, oldest first. */
export type EstimateHistory = readonly Estimate[];

/**
 * One step of the estimator: the new history and the estimate to report, the lowest of the
 * window's raw estimates (a fall is reported at once, a rise once it lasted the whole window),
 * floored to whole steps, so that small wobbles change nothing.
 */
export function nextEstimate(
  history: EstimateHistory,
  raw: Estimate,
  tuning: EstimatorTuning = DEFAULT_ESTIMATOR_TUNING,
): { history: EstimateHistory; estimate: Estimate } {
  const next = [...history, raw].slice(-Math.max(1, tuning.window));
  const low = next.reduce((a, b) => ({ cpus: Math.min(a.cpus, b.cpus), mem: Math.min(a.mem, b.mem) }));
  // Until the window is full a rise is not yet believed: the first samples lend nothing.
  const full = next.length >= tuning.window;
  return {
    history: next,
    estimate: full
      ? {
          cpus: Math.floor(low.cpus / tuning.cpuStep) * tuning.cpuStep,
          mem: Math.floor(low.mem / tuning.memStep) * tuning.memStep,
        }
      : { cpus: 0, mem: 0 },
  };
}
