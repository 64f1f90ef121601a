/**
 * A plan's would-be preemptions: for the pods of a preempting band that a plan finds no room for
 * (for lack of resources), the master's answer to a dry-run PREEMPT each — which agent and which
 * victims it would pick now, or why not. Nothing is preempted: a dry run kills nothing, sets
 * nothing aside and takes no rate-limit token.
 */
import { bandOf } from '../../core/bands.js';
import type { JobPlan, PlannedPreemption } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { PreemptedTask } from '../../proto/gen/galaxy/v1/common.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import { lacksResources, podPreemptRequest, preemptingBand } from './preemption.js';
import type { JobSpec } from './spec/schema.js';

/** At most this many dry runs per plan (one per pod): a plan of a huge job stays cheap for the master. */
export const PLAN_PREEMPTIONS_MAX = 20;

/** Which of the plan's pods to ask for, and how many are left unasked. Pure. */
export function podsToAskFor(
  plan: Pick<JobPlan, 'placements' | 'unplaced'>,
  spec: Pick<JobSpec, 'band'>,
  max = PLAN_PREEMPTIONS_MAX,
): { podIds: string[]; skipped: number } {
  const unplaced = plan.placements.filter((p) => p.hostname === '').map((p) => p.podId);
  // As the preemption plugin: only a preempting band, and only for lack of resources (a label or
  // pool no agent has is not cured by preempting).
  if (unplaced.length === 0 || !preemptingBand(bandOf(spec.band)) || !lacksResources(plan.unplaced))
    return { podIds: [], skipped: 0 };
  return { podIds: unplaced.slice(0, max), skipped: Math.max(0, unplaced.length - max) };
}

/**
 * Asks the master, one dry run after the other, what it would preempt for each pod of `plan` with
 * no room; `owner`'s role asks, as the real request would. A refusal or a failed call is the pod's
 * `refusal`. Each dry run counts the victims named for the pods before it as taken, so that the
 * plan's pods do not all name the same victims.
 */
export async function planPreemptions(
  driver: Pick<SchedulerDriver, 'preempt'> | undefined,
  plan: JobPlan,
  spec: JobSpec,
  owner: string,
): Promise<Pick<JobPlan, 'wouldPreempt' | 'wouldPreemptSkipped'>> {
  const { podIds, skipped } = podsToAskFor(plan, spec);
  const wouldPreempt: PlannedPreemption[] = [];
  const named: PreemptedTask[] = [];
  for (const podId of podIds) {
    const entry: PlannedPreemption = { podId, granted: false, agentId: '', hostname: '', victims: [], refusal: '' };
    if (!driver) {
      wouldPreempt.push({ ...entry, refusal: 'the AppMaster is not subscribed to the master yet: plan again shortly' });
      continue;
    }
    try {
      const request = podPreemptRequest(spec, owner, `plan:${spec.name}/${podId}`, 'galaxy job plan (dry run)');
      // The victims named for earlier pods count as taken, as they would be once those requests run.
      const answer = await driver.preempt({ ...request, dryRun: true, assumePreempted: named });
      named.push(...answer.victims);
      wouldPreempt.push({
        ...entry,
        granted: answer.granted,
        agentId: answer.agentId,
        hostname: answer.hostname,
        victims: answer.victims,
        refusal: answer.refusal,
      });
    } catch (error) {
      wouldPreempt.push({ ...entry, refusal: error instanceof Error ? error.message : String(error) });
    }
  }
  return { wouldPreempt, wouldPreemptSkipped: skipped };
}
