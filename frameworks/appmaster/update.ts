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
  options: { rollingBack?: boolean } = {},
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
  };
}

/** What to do for an update at this moment. */
export interface UpdatePlan {
  /** Pods to give the update's target revision now. */
  readonly retarget: string[];
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
  const none: UpdatePlan = { retarget: [], newlyFailed: [], failed: false, done: false };
  if (!update) return none;
  const spec = job.specs[update.to];
  if (!spec) return none;
  const { step, intervalS, breakpoint, maxFailures, deployTimeoutS } = spec.deploy;
  const live = pods.filter((p) => !p.runtime.killing);
  const newlyFailed = live
    .filter((p) => !update.failed.includes(p.record.podId) && isFailing(p, update.to, deployTimeoutS, now))
    .map((p) => p.record.podId);
  const failedCount = update.failed.length + newlyFailed.length;
  if (failedCount >= maxFailures) return { ...none, newlyFailed, failed: true };
  const updated = live.filter((p) => isUpdated(p, update.to, intervalS, now)).length;
  if (live.length > 0 && updated === live.length) return { ...none, newlyFailed, done: true };
  const moved = live.filter((p) => p.record.revision === update.to).length;
  if (!update.breakpointPassed && breakpoint > 0 && updated >= breakpoint && !update.pause && moved < live.length)
    return { ...none, newlyFailed, pause: { reason: 'breakpoint', pods: breakpoint } };
  if (update.pause) return { ...none, newlyFailed };
  const inFlight = moved - updated;
  let room = step - inFlight;
  if (!update.breakpointPassed && breakpoint > 0) room = Math.min(room, breakpoint - moved);
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
    case 'plugin':
      return `${pause.plugin}: ${pause.message}`;
  }
}

/** Unhealthy and pending pods first: updating them costs no serving capacity. */
function unhealthyFirst(a: Pod, b: Pod): number {
  return Number(isHealthyAtTarget(a)) - Number(isHealthyAtTarget(b));
}
