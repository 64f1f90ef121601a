/**
 * Moving pods off draining agents at the pace of the job's deploy policy. Pure: the AppMaster
 * calls {@link planDrain} on every tick and replaces the pods it returns (kill, then place again
 * on an agent that is still offered — a draining agent is not).
 *
 * At most `deploy.step` pods of a job are away from service at once: a pod counts as away until
 * it has been healthy for `deploy.intervalS`, so the next healthy pod moves only after the
 * replacement of the previous one is up. Pods on a draining agent that are not healthy anyway
 * move at once: moving them costs no serving capacity.
 */
import { isHealthyAtTarget, type Pod } from './model.js';

/** The job's pacing: its deploy policy's step and interval. */
export interface DrainPace {
  readonly step: number;
  readonly intervalS: number;
}

/** True when the pod serves: healthy at its target for at least `intervalS`. */
function serving(pod: Pod, intervalS: number, now: number): boolean {
  return isHealthyAtTarget(pod) && pod.runtime.healthySince > 0 && now - pod.runtime.healthySince >= intervalS * 1000;
}

/** Pod ids of the job to move off draining agents now. */
export function planDrain(pods: readonly Pod[], draining: ReadonlySet<string>, pace: DrainPace, now: number): string[] {
  if (draining.size === 0) return [];
  const live = pods.filter((p) => !p.runtime.removing);
  const onDraining = (p: Pod): boolean => p.record.taskId !== '' && draining.has(p.record.agentId);
  const movable = live.filter((p) => onDraining(p) && !p.runtime.killing);
  if (movable.length === 0) return [];
  const unhealthy = movable.filter((p) => !isHealthyAtTarget(p));
  const away = live.filter((p) => !serving(p, pace.intervalS, now) && !(onDraining(p) && !p.runtime.killing)).length;
  const room = Math.max(0, pace.step - away - unhealthy.length);
  const healthy = movable.filter((p) => isHealthyAtTarget(p)).sort((a, b) => a.record.index - b.record.index);
  return [...unhealthy, ...healthy.slice(0, room)].map((p) => p.record.podId);
}
