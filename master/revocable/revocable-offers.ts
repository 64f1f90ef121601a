/**
 * The master's side of revocable resources beside the allocator: an agent's estimate checked and
 * taken in, the revocable offers of one allocation pass, and what an agent's tasks on revocable
 * resources hold when it (re-)registers.
 */
import { acceptsRevocable, revocableScalars } from '../../core/revocable.js';
import { addResources, emptyResources, formatResources, type Resources } from '../../core/resources.js';
import { isTerminal } from '../../core/task-state.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { MasterContext } from '../context.js';
import type { RoleAllocation } from '../frameworks/role-clients.js';
import type { AgentRecord } from '../records.js';
import type { RevocableClient } from './revocable-pool.js';

/**
 * An agent's estimate as the master believes it: cpus and mem only, each a whole number between 0
 * and the agent's total. Returns it and what had to be corrected (empty when nothing). Pure.
 */
export function clampEstimate(
  reported: Resources | undefined,
  total: Resources,
): { estimate: Resources; corrections: string[] } {
  const corrections: string[] = [];
  const clamp = (name: 'cpus' | 'mem', value: number | undefined): number => {
    const v = value ?? 0;
    if (!Number.isFinite(v) || !Number.isInteger(v)) {
      corrections.push(`${name} ${String(v)} is not a whole number: taken as 0`);
      return 0;
    }
    if (v < 0) {
      corrections.push(`${name} ${v} is negative: taken as 0`);
      return 0;
    }
    if (v > total[name]) {
      corrections.push(`${name} ${v} is more than the agent's total ${total[name]}: clamped to it`);
      return total[name];
    }
    return v;
  };
  return {
    estimate: { ...emptyResources(), cpus: clamp('cpus', reported?.cpus), mem: clamp('mem', reported?.mem) },
    corrections,
  };
}

/**
 * Takes in an agent's estimate: clamped (with a log line saying what was wrong), stored, and when
 * the agent now lends less than its revocable offers and tasks hold, its revocable offers are
 * rescinded (its QoS controller evicts tasks as needed).
 */
export function applyEstimate(ctx: MasterContext, agent: AgentRecord, reported: Resources | undefined): void {
  const { estimate, corrections } = clampEstimate(reported, agent.info.total);
  if (corrections.length > 0)
    ctx.log.warn(
      { agent: agent.info.id, corrections },
      `refused part of the agent's revocable estimate: ${corrections.join('; ')}`,
    );
  ctx.revocable.setEstimate(agent.info.id, estimate);
  if (ctx.revocable.overcommitted(agent.info.id))
    ctx.rescindAgentOffers(agent.info.id, true, (offer) => offer.revocable === true);
  ctx.log.debug({ agent: agent.info.id, estimate: formatResources(estimate) }, 'revocable estimate');
  ctx.loop.trigger();
}

/** What the agent's live tasks on revocable resources hold (cpus and mem). */
export function revocableHeld(ctx: MasterContext, agent: AgentRecord): Resources {
  let held = emptyResources();
  for (const key of agent.tasks) {
    const task = ctx.tasks.get(key)?.task;
    if (task?.onRevocable === true && !isTerminal(task.state))
      held = addResources(held, revocableScalars(task.resources));
  }
  return held;
}

/**
 * The revocable offers of one pass, recorded as outstanding: each active agent's unlent estimate
 * to one framework role that takes them (capability REVOCABLE_RESOURCES, connected, not suppressed).
 */
export function revocableOffers(
  ctx: MasterContext,
  toOffer: (allocation: RoleAllocation & { revocable: true }) => Offer | undefined,
): Offer[] {
  const clients: RevocableClient[] = [];
  for (const framework of ctx.frameworks.values()) {
    if (!framework.connection || !acceptsRevocable(framework.info)) continue;
    for (const role of ctx.clients.roles(framework.info.id))
      if (ctx.clients.wantsOffers(framework.info.id, role)) clients.push({ frameworkId: framework.info.id, role });
  }
  if (clients.length === 0) return [];
  const agents = [...ctx.revocable.estimated()].filter((id) => ctx.agents.get(id)?.active === true);
  if (agents.length === 0) return [];
  const offers: Offer[] = [];
  for (const allocation of ctx.revocable.allocate(agents, clients)) {
    const offer = toOffer({ ...allocation, revocable: true });
    if (!offer) {
      ctx.revocable.release(allocation.agentId, allocation.resources);
      continue;
    }
    ctx.offers.add(offer);
    offers.push(offer);
  }
  return offers;
}
