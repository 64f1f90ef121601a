/**
 * Victim selection for preemption: pure, so it is tested without a master.
 *
 * A request (resources, band) may take, on one agent, what is free there plus what tasks of
 * strictly lower bands hold (so production never preempts production; monitoring may preempt
 * production). On each agent victims are taken in order — revocable first, then the lowest band,
 * then the largest dominant share of their framework, then the newest — until the request fits;
 * victims that turn out not to be needed are then dropped again. The agent needing the fewest
 * victims wins; ties go to the one preempting the least resources, then the lowest victim band,
 * then the agent id, so the same input always gives the same plan.
 */
import type { Label, Resources } from '../../proto/gen/galaxy/v1/common.js';
import { Band, effectiveBand, mayPreempt } from '../../core/bands.js';
import { SCALARS } from '../../core/resources.js';

/** A value of a required label that any value of the key satisfies. */
export const ANY_LABEL_VALUE = '*';

/** A live task that could be preempted. */
export interface VictimCandidate {
  readonly taskId: string;
  readonly frameworkId: string;
  readonly name: string;
  readonly band: Band;
  readonly revocable: boolean;
  readonly resources: Resources;
  /** Dominant share of the task's framework (the allocator's). */
  readonly share: number;
  /** When it was launched (ms; any increasing number): the newest goes first among equals. */
  readonly launchedAt: number;
}

/** One agent as preemption sees it. */
export interface PreemptionAgent {
  readonly agentId: string;
  /** What is free there now and promised to nobody. */
  readonly free: Resources;
  /** Its live tasks that may be preempted at all (not immune, not already being preempted). */
  readonly tasks: readonly VictimCandidate[];
}

/** What a framework asks room for. */
export interface VictimRequest {
  readonly resources: Resources;
  readonly band: Band;
}

/** Where to make room and whom to kill. */
export interface VictimPlan {
  readonly agentId: string;
  /** Empty when the agent has room already. */
  readonly victims: readonly VictimCandidate[];
}

/** True when an agent of `pool` with `attributes` carries every required label (key → value or `*`). */
export function agentMatches(
  agent: { readonly pool: string; readonly attributes: readonly Label[] },
  pool: string,
  labels: Readonly<Record<string, string>>,
): boolean {
  if ((agent.pool || 'default') !== (pool || 'default')) return false;
  return Object.entries(labels).every(([key, value]) =>
    agent.attributes.some((a) => a.key === key && (value === ANY_LABEL_VALUE || a.value === value)),
  );
}

/** Victim order: revocable first, then the lowest band, then the largest share, then the newest. */
export function compareVictims(a: VictimCandidate, b: VictimCandidate): number {
  if (a.revocable !== b.revocable) return a.revocable ? -1 : 1;
  const band = effectiveBand(a.band) - effectiveBand(b.band);
  if (band !== 0) return band;
  if (a.share !== b.share) return b.share - a.share;
  if (a.launchedAt !== b.launchedAt) return b.launchedAt - a.launchedAt;
  return a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0;
}

/** The fewest victims on this agent that make room for the request, or undefined when none can. */
export function planOnAgent(request: VictimRequest, agent: PreemptionAgent): VictimPlan | undefined {
  const need = SCALARS.map((s) => Math.max(0, request.resources[s] - agent.free[s]));
  const covered = (victims: readonly VictimCandidate[]): boolean =>
    SCALARS.every((s, i) => victims.reduce((sum, v) => sum + v.resources[s], 0) >= (need[i] ?? 0));
  if (covered([])) return { agentId: agent.agentId, victims: [] };
  const eligible = agent.tasks.filter((t) => mayPreempt(request.band, t.band)).sort(compareVictims);
  const chosen: VictimCandidate[] = [];
  for (const task of eligible) {
    chosen.push(task);
    if (covered(chosen)) break;
  }
  if (!covered(chosen)) return undefined;
  // Drop victims that turned out unnecessary, the most valuable (last in order) first.
  for (let i = chosen.length - 1; i >= 0; i--) {
    const without = chosen.filter((_, j) => j !== i);
    if (covered(without)) chosen.splice(i, 1);
  }
  return { agentId: agent.agentId, victims: chosen };
}

/** The best plan over all agents (see the module comment), or undefined when no agent can make room. */
export function selectVictims(request: VictimRequest, agents: readonly PreemptionAgent[]): VictimPlan | undefined {
  let best: { plan: VictimPlan; cost: number; band: number } | undefined;
  for (const agent of agents) {
    const plan = planOnAgent(request, agent);
    if (!plan) continue;
    const candidate = { plan, cost: preemptedCost(request, plan), band: highestBand(plan) };
    if (!best || ranksBefore(candidate, best)) best = candidate;
  }
  return best?.plan;
}

function ranksBefore(
  a: { plan: VictimPlan; cost: number; band: number },
  b: { plan: VictimPlan; cost: number; band: number },
): boolean {
  if (a.plan.victims.length !== b.plan.victims.length) return a.plan.victims.length < b.plan.victims.length;
  if (a.cost !== b.cost) return a.cost < b.cost;
  if (a.band !== b.band) return a.band < b.band;
  return a.plan.agentId < b.plan.agentId;
}

/** Preempted resources, each scalar measured in units of what the request asks (so cores and bytes weigh alike). */
function preemptedCost(request: VictimRequest, plan: VictimPlan): number {
  let cost = 0;
  for (const s of SCALARS) {
    const unit = request.resources[s];
    if (unit <= 0) continue;
    for (const victim of plan.victims) cost += victim.resources[s] / unit;
  }
  return cost;
}

function highestBand(plan: VictimPlan): number {
  return plan.victims.reduce((max, v) => Math.max(max, effectiveBand(v.band)), 0);
}
