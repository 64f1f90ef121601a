/**
 * Rolling by availability, as Kubernetes defines `maxSurge` and `maxUnavailable`: during an
 * update at most `replicas + maxSurge` pods run, and at least `replicas - maxUnavailable` of them
 * are available (serving and healthy). Pure: {@link planUpdate} asks it for the moves of a job
 * whose target revision sets either field.
 *
 * - A **replace** update (new containers) starts new pods at the target revision first, as far
 *   as the surge allows, and retires old pods only while enough others stay available.
 * - An **in-place** update (reload, rebuild) moves old pods to the target inside their running
 *   containers, each move costing one available pod; with `maxUnavailable` 0 it first starts
 *   `maxSurge` extra pods at the target so that moves can go on, and they are retired once the
 *   update is over (the replica count is restored by the reconcile tick).
 *
 * Unavailable old pods move first: moving them costs no serving capacity.
 */
import { isHealthyAtTarget, type Pod } from './model.js';
import type { DeploySpec } from './spec/schema.js';

/** The surge and unavailability of `deploy` as pod counts for `replicas` pods. */
export interface SurgeLimits {
  readonly surge: number;
  readonly unavailable: number;
}

/** True when `deploy` rolls by availability (either field set) rather than by `step`. */
export function rollsBySurge(deploy: DeploySpec): boolean {
  return deploy.maxSurge !== undefined || deploy.maxUnavailable !== undefined;
}

/**
 * Resolves the two fields as Kubernetes does: a percentage of `replicas`, the surge rounded up and
 * the unavailability down; an unset field is 25%; when both come to 0, one pod may be unavailable.
 */
export function surgeLimits(deploy: DeploySpec, replicas: number): SurgeLimits {
  const count = (value: number | string | undefined, round: (n: number) => number): number => {
    const v = value ?? '25%';
    return typeof v === 'number' ? v : round((Number(v.slice(0, -1)) * replicas) / 100);
  };
  const surge = count(deploy.maxSurge, Math.ceil);
  const unavailable = count(deploy.maxUnavailable, Math.floor);
  return surge === 0 && unavailable === 0 ? { surge, unavailable: 1 } : { surge, unavailable };
}

/** What the surge planner decides this moment. */
export interface SurgeMoves {
  /** Old pods to move to the target in place. */
  readonly retarget: string[];
  /** Old pods to retire (their containers end; new pods take their place). */
  readonly retire: string[];
  /** New pods to start at the target revision. */
  readonly add: number;
}

/** The surge planner's view of one job's update. */
export interface SurgeInput {
  /** Live pods (not being killed or retired). */
  readonly live: readonly Pod[];
  readonly to: number;
  readonly kind: 'reload' | 'rebuild' | 'replace';
  readonly replicas: number;
  readonly limits: SurgeLimits;
  /** Most pods at the target revision for now (a canary or breakpoint); `replicas` when none. */
  readonly cap: number;
  /** True when a new pod counts as available (healthy at the target for the interval). */
  readonly updated: (pod: Pod) => boolean;
}

/** The moves of one step. */
export function planSurge(input: SurgeInput): SurgeMoves {
  const { live, to, kind, replicas, limits, cap, updated } = input;
  const isNew = (p: Pod) => p.record.revision === to;
  const available = (p: Pod) => (isNew(p) ? updated(p) : isHealthyAtTarget(p));
  const fresh = live.filter(isNew);
  const old = live
    .filter((p) => !isNew(p))
    .sort((a, b) => Number(available(a)) - Number(available(b)) || a.record.index - b.record.index);
  let budget = live.filter(available).length - (replicas - limits.unavailable);
  const target = Math.min(replicas, cap);
  const picked: string[] = [];
  // A replace keeps `replicas - target` old pods (a canary's hold); in place, a cap bounds the pods at the target.
  const most =
    kind === 'replace' ? old.length - (replicas - target) : cap >= replicas ? old.length : target - fresh.length;
  for (const pod of old) {
    if (picked.length >= most) break;
    if (available(pod)) {
      if (budget <= 0) continue;
      budget -= 1;
    }
    picked.push(pod.record.podId);
  }
  const total = live.length - (kind === 'replace' ? picked.length : 0);
  const room = replicas + limits.surge - total;
  if (kind === 'replace')
    return { retarget: [], retire: picked, add: Math.max(0, Math.min(target - fresh.length, room)) };
  // In place, extra pods are needed only when no pod may be unavailable: they carry the moves.
  const extras =
    limits.unavailable === 0 && old.length > picked.length
      ? Math.max(0, Math.min(room, limits.surge - (live.length - replicas), target - fresh.length - picked.length))
      : 0;
  return { retarget: picked, retire: [], add: extras };
}
