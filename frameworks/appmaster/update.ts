/**
 * The rolling update: which pods move to the new revision next, when to pause at the breakpoint,
 * when an update has failed, and when it is done. Pure: the AppMaster calls {@link planUpdate} on
 * every tick and on every report, and carries out what it returns.
 *
 * A pod counts as **updated** once it runs the new revision, passes its health check, and has
 * done so for `deploy.intervalS`. At most `deploy.step` pods are in flight (moved but not yet
 * updated) at once, so the others keep serving. A pod **fails** the update when its AppWorker
 * reports a failed deploy, a crash loop or an unhealthy service at the new revision, or when it
 * is not healthy within `deploy.deployTimeoutS`.
 */
import { planSurge, rollsBySurge, surgeLimits } from './surge.js';
import {
  appliedRevision,
  isHealthyAtTarget,
  type JobRecord,
  type Pod,
  type UpdatePause,
  type UpdateRecord,
} from './model.js';

/** A new update from revision `from` to `to`; a rollback starts past any breakpoint. */
export function newUpdate(
  from: number,
  to: number,
  kind: UpdateRecord['kind'],
  now: number,
  options: { rollingBack?: boolean; canary?: number } = {},
): UpdateRecord {
  const rollingBack = options.rollingBack ?? false;
  return {
    from,
    to,
    kind,
    pause: undefined,
    breakpointPassed: rollingBack,
    rollingBack,
    failed: [],
    startedAt: now,
    ...(options.canary ? { canary: options.canary } : {}),
  };
}

/** What to do for an update at this moment. */
export interface UpdatePlan {
  /** Pods to give the update's target revision now. */
  readonly retarget: string[];
  /** Old pods to retire now (rolling by surge: new pods take their place). */
  readonly retire: string[];
  /** New pods to start at the target revision now (rolling by surge). */
  readonly add: number;
  /** Pods that failed the update since the last plan. */
  readonly newlyFailed: string[];
  /** Set when the update must pause now: why. */
  readonly pause?: UpdatePause;
  /** The update failed (max failures): roll back when the spec asks, else pause. */
  readonly failed: boolean;
  /** Every pod is updated: the update is over. */
  readonly done: boolean;
}

/** True when a pod at its target has passed its health check for `intervalS`. */
export function isUpdated(pod: Pod, to: number, intervalS: number, now: number): boolean {
  return (
    pod.record.revision === to &&
    isHealthyAtTarget(pod) &&
    pod.runtime.healthySince > 0 &&
    now - pod.runtime.healthySince >= intervalS * 1000
  );
}

/** True when a pod moved to `to` is failing it. */
export function isFailing(pod: Pod, to: number, deployTimeoutS: number, now: number): boolean {
  if (pod.record.revision !== to || pod.runtime.killing) return false;
  const report = pod.runtime.report;
  const atTarget = report !== undefined && appliedRevision(report) === to;
  if (report?.phase === 'failed' && !atTarget) return true;
  if (atTarget && (report.phase === 'delayed' || report.health === 'unhealthy')) return true;
  return !isHealthyAtTarget(pod) && now - pod.record.retargetedAt > deployTimeoutS * 1000;
}

/** The next step of `job`'s update. */
export function planUpdate(job: JobRecord, pods: readonly Pod[], now: number): UpdatePlan {
  const update = job.update;
  const none: UpdatePlan = { retarget: [], retire: [], add: 0, newlyFailed: [], failed: false, done: false };
  if (!update) return none;
  const spec = job.specs[update.to];
  if (!spec) return none;
  const { step, intervalS, breakpoint, maxFailures, deployTimeoutS } = spec.deploy;
  const replicas = (job.specs[job.revision] ?? spec).replicas;
  const live = pods.filter((p) => !p.runtime.killing && !p.runtime.removing);
  const newlyFailed = live
    .filter((p) => !update.failed.includes(p.record.podId) && isFailing(p, update.to, deployTimeoutS, now))
    .map((p) => p.record.podId);
  const failedCount = update.failed.length - (update.forgiven ?? 0) + newlyFailed.length;
  if (failedCount >= maxFailures) return { ...none, newlyFailed, failed: true };
  const isDone = (p: Pod) => isUpdated(p, update.to, intervalS, now);
  const updated = live.filter(isDone).length;
  const moved = live.filter((p) => p.record.revision === update.to).length;
  const surge = rollsBySurge(spec.deploy);
  const complete = updated === live.length && (!surge || live.length >= replicas);
  if (live.length > 0 && complete) return { ...none, newlyFailed, done: true };
  const canary = update.canary !== undefined && update.canary > 0 && !update.promoted ? update.canary : 0;
  const pauseAt = !update.pause && moved < live.length ? holdOf(update, breakpoint, canary, updated) : undefined;
  if (pauseAt) return { ...none, newlyFailed, pause: pauseAt };
  if (update.pause) return { ...none, newlyFailed };
  let cap = canary > 0 ? canary : Number.MAX_SAFE_INTEGER;
  if (!update.breakpointPassed && breakpoint > 0) cap = Math.min(cap, breakpoint);
  if (surge) {
    const moves = planSurge({
      live,
      to: update.to,
      kind: update.kind,
      replicas,
      limits: surgeLimits(spec.deploy, replicas),
      cap: Math.min(cap, replicas),
      updated: isDone,
    });
    return { ...none, newlyFailed, ...moves };
  }
  const inFlight = moved - updated;
  const room = Math.min(step - inFlight, cap - moved);
  if (room <= 0) return { ...none, newlyFailed };
  const waiting = live
    .filter((p) => p.record.revision !== update.to)
    .sort((a, b) => unhealthyFirst(a, b) || a.record.index - b.record.index);
  return { ...none, newlyFailed, retarget: waiting.slice(0, room).map((p) => p.record.podId) };
}

/** How `job show` says why an update is paused. */
export function pauseText(pause: UpdatePause): string {
  switch (pause.reason) {
    case 'user':
      return 'by user';
    case 'breakpoint':
      return `breakpoint after ${pause.pods} pod${pause.pods === 1 ? '' : 's'}`;
    case 'max-failures':
      return 'max failures';
    case 'canary':
      return `canary: ${pause.pods} pod${pause.pods === 1 ? '' : 's'} at the new revision; promote or abort`;
    case 'plugin':
      return `${pause.plugin}: ${pause.message}`;
  }
}

/** Where the update holds before moving on: a canary not yet promoted, else a breakpoint not yet passed. */
function holdOf(update: UpdateRecord, breakpoint: number, canary: number, updated: number): UpdatePause | undefined {
  if (canary > 0 && updated >= canary) return { reason: 'canary', pods: canary };
  if (!update.breakpointPassed && breakpoint > 0 && updated >= breakpoint)
    return { reason: 'breakpoint', pods: breakpoint };
  return undefined;
}

/** Unhealthy and pending pods first: updating them costs no serving capacity. */
function unhealthyFirst(a: Pod, b: Pod): number {
  return Number(isHealthyAtTarget(a)) - Number(isHealthyAtTarget(b));
}
