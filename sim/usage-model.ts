/**
 * The replay's usage model (`galaxy sim replay --oversubscribe`): how much of its allocation a
 * simulated regular task uses at a given trace time. The Google 2011 sample the replayer reads has
 * task_events only (no task_usage table), so usage is modelled, not replayed: a task uses a fixed
 * fraction of its cpu and memory request by class (services less than batch work, as Borg's
 * papers report), except during its machine's load peak, when every regular task on it uses
 * nearly all it asked for. Peaks recur every `periodS` trace seconds for `peakS` seconds at a phase
 * of their own per machine (from its hostname), so that machines peak at different times. Pure.
 */

/** The model's figures (trace seconds and fractions of a task's allocation). */
export interface UsageModelTuning {
  /** Fraction used by a production or monitoring (service) task outside its machine's peak. */
  readonly serviceFraction: number;
  /** Fraction used by a batch or best-effort task outside its machine's peak. */
  readonly batchFraction: number;
  /** Fraction every regular task uses during its machine's peak. */
  readonly peakFraction: number;
  /** Trace seconds between the starts of a machine's peaks. */
  readonly periodS: number;
  /** Trace seconds a peak lasts. */
  readonly peakS: number;
}

/** Defaults of {@link UsageModelTuning} (docs/simulator.md, "Reclamation"). */
export const DEFAULT_USAGE_MODEL: UsageModelTuning = {
  serviceFraction: 0.3,
  batchFraction: 0.5,
  peakFraction: 0.95,
  periodS: 600,
  peakS: 60,
};

/** A stable phase in [0, 1) from a machine's name (FNV-1a), so that a replay is repeatable. */
export function machinePhase(hostname: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < hostname.length; i++) {
    hash ^= hostname.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 2 ** 32;
}

/** True while the machine of phase `phase` is in its load peak at trace second `traceS`. */
export function inPeak(phase: number, traceS: number, tuning: UsageModelTuning = DEFAULT_USAGE_MODEL): boolean {
  const at = (((traceS / tuning.periodS + phase) % 1) + 1) % 1;
  return at * tuning.periodS < tuning.peakS;
}

/** The fraction of its allocation a regular task of `service` class uses at trace second `traceS`. */
export function usedFraction(
  service: boolean,
  phase: number,
  traceS: number,
  tuning: UsageModelTuning = DEFAULT_USAGE_MODEL,
): number {
  if (inPeak(phase, traceS, tuning)) return tuning.peakFraction;
  return service ? tuning.serviceFraction : tuning.batchFraction;
}
