/**
 * Held volumes on the master (docs/disks.md, "Held volumes"): an agent reports the persistent
 * volumes it keeps with no container; the master checks the report, keeps it on the agent's
 * record, and tells the allocator to hold their bytes for their frameworks — all but those a live
 * task mounts (their bytes are that task's). An offer to the framework carries its held volumes,
 * whose bytes only a task mounting that volume may use (`accept.ts`, `claimHeld`).
 */
import { GalaxyError } from '../../core/errors.js';
import { disksOf } from '../../core/disks.js';
import { isTerminal } from '../../core/task-state.js';
import type { KeptVolume } from '../../proto/gen/galaxy/v1/common.js';
import type { VolumeHold } from '../../allocators/allocator.js';
import type { MasterContext } from '../context.js';
import { clientId, type RoleAllocation } from '../frameworks/role-clients.js';
import { builtinMasterPlugin, type MasterPlugin } from '../plugin.js';
import { taskKey, type AgentRecord, type TaskRecord } from '../records.js';
import { checkKeptVolumes, keptKey } from './kept-volumes.js';

/** The live tasks of an agent. */
function liveTasks(ctx: MasterContext, agent: AgentRecord): TaskRecord[] {
  return [...agent.tasks]
    .map((key) => ctx.tasks.get(key))
    .filter((r): r is TaskRecord => r !== undefined && !isTerminal(r.task.state));
}

/**
 * Takes in an agent's kept volumes (from its registration or a report). A report that does not
 * fit the agent's disks is refused whole — logged, counted in the event log, nothing changed —
 * and false returned.
 */
export function takeKeptVolumes(ctx: MasterContext, agent: AgentRecord, reported: readonly KeptVolume[]): boolean {
  const used = new Map<string, number>();
  for (const record of liveTasks(ctx, agent))
    for (const d of disksOf(record.task.resources ?? { cpus: 0, mem: 0, disk: 0, gpus: 0, ports: [] }))
      used.set(d.name, (used.get(d.name) ?? 0) + d.size);
  try {
    agent.keptVolumes = checkKeptVolumes(reported, agent.info.total, used);
  } catch (error) {
    if (!(error instanceof GalaxyError)) throw error;
    ctx.log.warn({ agent: agent.info.id, code: error.code }, error.message);
    ctx.events.append({
      kind: 'agent.kept-volumes-refused',
      agentId: agent.info.id,
      actor: `agent ${agent.info.id}`,
      reason: error.code,
      message: error.message,
    });
    return false;
  }
  syncVolumeHolds(ctx, agent.info.id);
  return true;
}

/** A task ended: its agent keeps its persistent volumes (until the agent's next report says otherwise). */
export function keepEndedTaskVolumes(ctx: MasterContext, record: TaskRecord): void {
  const agent = ctx.agents.get(record.task.agentId);
  if (!agent || !record.persistentVolumes?.length) return;
  const kept = agent.keptVolumes ?? [];
  const known = new Set(kept.map(keptKey));
  agent.keptVolumes = [...kept, ...record.persistentVolumes.filter((v) => !known.has(keptKey(v)))];
  syncVolumeHolds(ctx, agent.info.id);
}

/** A framework destroyed its volume: its hold goes at once (the agent's next report agrees). */
export function forgetKeptVolume(ctx: MasterContext, agentId: string, frameworkId: string, volumeId: string): void {
  const agent = ctx.agents.get(agentId);
  if (!agent?.keptVolumes) return;
  agent.keptVolumes = agent.keptVolumes.filter((v) => !(v.frameworkId === frameworkId && v.volumeId === volumeId));
  syncVolumeHolds(ctx, agentId);
}

/** The agent's kept volumes that no live task mounts: their bytes are held, not used by a task. */
export function idleKeptVolumes(ctx: MasterContext, agent: AgentRecord): KeptVolume[] {
  const inUse = new Set(liveTasks(ctx, agent).flatMap((r) => (r.persistentVolumes ?? []).map(keptKey)));
  return (agent.keptVolumes ?? []).filter((v) => !inUse.has(keptKey(v)));
}

/**
 * Tells the allocator which of the agent's kept volumes to hold, for which framework (its first
 * role: the hold counts against it as an allocation does): all but those a live task mounts.
 * Offers carrying a held volume that is no longer held are rescinded first.
 */
export function syncVolumeHolds(ctx: MasterContext, agentId: string): void {
  const agent = ctx.agents.get(agentId);
  if (!agent || !ctx.allocator.setVolumeHolds) return;
  const live = liveTasks(ctx, agent);
  const claimed = new Set(live.flatMap((r) => (r.claimedHolds ?? []).map((id) => `${r.task.frameworkId}/${id}`)));
  const holds: VolumeHold[] = [];
  for (const v of idleKeptVolumes(ctx, agent)) {
    const role = ctx.clients.roles(v.frameworkId)[0];
    if (role === undefined) continue;
    holds.push({ frameworkId: clientId(v.frameworkId, role), key: keptKey(v), disk: v.disk, size: v.sizeBytes });
  }
  const held = new Set(holds.map((h) => h.key));
  ctx.rescindAgentOffers(agentId, true, (offer) => offer.heldVolumes.some((v) => !held.has(keptKey(v))));
  ctx.allocator.setVolumeHolds(agentId, holds, claimed);
  ctx.loop.trigger();
}

/**
 * The held volumes an offer of `allocation` carries: those whose bytes the allocator holds for
 * its framework and role on the agent, and that no other outstanding offer carries.
 */
export function offerHeldVolumes(ctx: MasterContext, allocation: RoleAllocation): KeptVolume[] {
  const agent = ctx.agents.get(allocation.agentId);
  if (!agent?.keptVolumes?.length || allocation.reservedRole !== undefined) return [];
  const held = ctx.allocator.heldVolumes?.(clientId(allocation.frameworkId, allocation.role), allocation.agentId);
  if (!held?.length) return [];
  const keys = new Set(held.map((h) => h.key));
  const offered = new Set(
    [...ctx.offers.all()].filter((o) => o.agentId === allocation.agentId).flatMap((o) => o.heldVolumes.map(keptKey)),
  );
  return agent.keptVolumes.filter((v) => keys.has(keptKey(v)) && !offered.has(keptKey(v)));
}

/** The plugin that keeps holds in step with tasks and frameworks. */
export function heldVolumesPlugin(): MasterPlugin {
  return {
    ...builtinMasterPlugin('held-volumes'),
    apply({ hooks, ctx }) {
      hooks.taskLaunched.tap('held-volumes', (task) => {
        if (ctx.agents.get(task.agentId)?.keptVolumes?.length) syncVolumeHolds(ctx, task.agentId);
      });
      hooks.statusUpdate.tap('held-volumes', (status) => {
        const record = ctx.tasks.get(taskKey(status.frameworkId, status.taskId));
        if (record && isTerminal(status.state) && record.persistentVolumes?.length) keepEndedTaskVolumes(ctx, record);
      });
      hooks.frameworkSubscribed.tap('held-volumes', (framework) => {
        for (const agent of ctx.agents.values())
          if (agent.keptVolumes?.some((v) => v.frameworkId === framework.info.id)) syncVolumeHolds(ctx, agent.info.id);
      });
    },
  };
}
