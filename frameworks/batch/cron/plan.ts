/**
 * What a cron job does now: the decision, as a pure function of its schedule, what it handled last,
 * whether an earlier run is still active, and the time (injected). The runner (`runner.ts`)
 * carries it out. The rules are Kubernetes CronJob's:
 *
 * - a run is due at each time of the schedule after the last one handled; of several due at once
 *   (the framework was down, or the cron job suspended) only the latest is kept, the others are
 *   missed;
 * - a due run that cannot start within `startingDeadlineS` of its time is missed (with no deadline
 *   it starts however late: after a restart or a failover the latest missed run starts at once);
 * - while an earlier run is active: `Allow` starts the new one beside it, `Forbid` makes it wait
 *   until the earlier one ends (or its deadline passes), `Replace` cancels the earlier one first.
 */
import type { ConcurrencyPolicy } from '../spec/schema.js';
import type { CronTimes } from './schedule.js';

/** Superseded runs counted one by one at most; past that the count is a floor. */
export const MAX_COUNTED_MISSES = 100;

/** What the planner looks at. */
export interface CronState {
  readonly concurrencyPolicy: ConcurrencyPolicy;
  /** Seconds; 0 = no deadline. */
  readonly startingDeadlineS: number;
  readonly suspended: boolean;
  /** The scheduled time of the last run handled (started, skipped or missed), or when it was created (ms). */
  readonly lastScheduledAt: number;
  /** Runs started and not ended yet. */
  readonly active: number;
}

/** What to do now. */
export type CronDecision =
  /** Nothing is due; look again at `wakeAt` (undefined: never, or while suspended). */
  | { readonly kind: 'idle'; readonly wakeAt: number | undefined }
  /** Start the run of `scheduledAt`; with `replace`, cancel the active runs first. */
  | { readonly kind: 'start'; readonly scheduledAt: number; readonly replace: boolean; readonly superseded: number }
  /** The run of `scheduledAt` waits for the active one to end (Forbid). */
  | { readonly kind: 'wait'; readonly scheduledAt: number; readonly superseded: number }
  /** The run of `scheduledAt` is past its starting deadline: handled, not started. */
  | { readonly kind: 'miss'; readonly scheduledAt: number; readonly superseded: number };

/** Due runs in `(after, before)`, counted up to {@link MAX_COUNTED_MISSES}. */
function countBetween(times: CronTimes, after: number, before: number): number {
  let n = 0;
  for (let t = times.next(after); t !== undefined && t < before && n < MAX_COUNTED_MISSES; t = times.next(t)) n += 1;
  return n;
}

/** The decision for a cron job in `state` at `now` (ms), its schedule read by `times`. */
export function planCron(state: CronState, times: CronTimes, now: number): CronDecision {
  if (state.suspended) return { kind: 'idle', wakeAt: undefined };
  const latest = times.latest(now);
  if (latest === undefined || latest <= state.lastScheduledAt)
    return { kind: 'idle', wakeAt: times.next(Math.max(now, state.lastScheduledAt)) };
  const superseded = countBetween(times, state.lastScheduledAt, latest);
  if (state.startingDeadlineS > 0 && now - latest > state.startingDeadlineS * 1000)
    return { kind: 'miss', scheduledAt: latest, superseded };
  if (state.active > 0 && state.concurrencyPolicy === 'Forbid')
    return { kind: 'wait', scheduledAt: latest, superseded };
  return {
    kind: 'start',
    scheduledAt: latest,
    replace: state.active > 0 && state.concurrencyPolicy === 'Replace',
    superseded,
  };
}
