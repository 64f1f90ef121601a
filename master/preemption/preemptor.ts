/**
 * PREEMPT, wired into the master: picks victims ({@link selectVictims}), kills them with reason
 * `preempted`, sets what they free aside for the requester (allocated to it at once, then offered
 * to it alone for a few seconds), rate-limits victims with a token bucket, keeps one outstanding
 * preemption per request, makes the tasks launched into set-aside resources immune for a while
 * (so preemption cannot cascade), and logs every preemption as a master event. A dry run answers
 * the same choice and does none of it.
 */
import { GalaxyError } from '../../core/errors.js';
import { Band, bandName, effectiveBand, PREEMPTED_REASON } from '../../core/bands.js';
import {
  addResources,
  emptyResources,
  formatResources,
  isEmptyResources,
  subtractResources,
  validateResources,
} from '../../core/resources.js';
import { isTerminal } from '../../core/task-state.js';
import {
  TaskState,
  type PreemptedTask,
  type Resources,
  type Task,
  type TaskStatus,
} from '../../proto/gen/galaxy/v1/common.js';
import type { PreemptCall, PreemptionPlan } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { MasterContext } from '../context.js';
import { agentMatches, selectVictims, type PreemptionAgent, type VictimCandidate } from './preemption.js';
import { taskKey, type AgentRecord, type FrameworkRecord, type TaskRecord } from '../records.js';
import { TokenBucket } from './token-bucket.js';
import { BuiltinMasterPlugin, type MasterHost } from '../plugin.js';

export { PREEMPTED_REASON };

/** A preemption whose set-aside is not used or expired yet. */
interface Outstanding {
  readonly key: string;
  readonly frameworkId: string;
  /** The role the request was made for: what is set aside is allocated to it. */
  readonly role: string;
  readonly agentId: string;
  readonly plan: PreemptionPlan;
  /** Keys of victims still alive. */
  readonly victims: Set<string>;
  /** Allocated to the requester, not offered yet. */
  setAside: Resources;
  offerId?: string;
  timer?: NodeJS.Timeout;
}

/** How often a PREEMPT may walk the launched tasks to forget those the master no longer knows (ms). */
const PRUNE_EVERY_MS = 10_000;

/** What one PREEMPT knows of the whole cell ({@link Preemptor.cellView}). */
interface CellView {
  /** Tasks a dry run counts as preempted already. */
  readonly assumed: ReadonlySet<string>;
  /** Agent id → resources offered on it or set aside there for a preemption. */
  readonly held: ReadonlyMap<string, Resources>;
  /** A framework role's dominant share. */
  share(frameworkId: string, role: string): number;
  readonly now: number;
}

/** The master's preemption (PREEMPT): a master plugin, following the tasks it may pick as victims. */
export class Preemptor extends BuiltinMasterPlugin {
  readonly name = 'preemptor';
  private readonly bucket: TokenBucket;
  /** By framework id and request id. */
  private readonly outstanding = new Map<string, Outstanding>();
  /** Victim task key → its preemption. */
  private readonly victims = new Map<string, Outstanding>();
  /** Task key → not preempted before this time (ms). */
  private readonly immune = new Map<string, number>();
  /** Task key → launch time (ms): the newest victim goes first among equals. */
  private readonly launchedAt = new Map<string, number>();
  /** When {@link prune} last walked the maps (ms). */
  private prunedAt = 0;

  constructor(private readonly ctx: MasterContext) {
    super();
    this.bucket = new TokenBucket(ctx.timings.preemptionBurst, ctx.timings.preemptionRatePerS);
  }

  /** Taps the master's hooks: follows launches and ends of tasks, and frameworks and agents leaving. */
  apply({ hooks }: MasterHost): void {
    hooks.taskLaunched.tap('preemption', (task) => {
      this.launched(task);
    });
    hooks.statusUpdate.tap('preemption', (status) => {
      this.statusChanged(status);
    });
    hooks.frameworkRemoved.tap('preemption', (framework) => {
      for (const entry of [...this.outstanding.values()])
        if (entry.frameworkId === framework.info.id) this.close(entry, false);
      // Its tasks are forgotten before their end is reported: drop what was kept per task.
      const prefix = taskKey(framework.info.id, '');
      for (const key of [...this.launchedAt.keys()]) if (key.startsWith(prefix)) this.launchedAt.delete(key);
      for (const key of [...this.immune.keys()]) if (key.startsWith(prefix)) this.immune.delete(key);
    });
    hooks.agentRemoved.tap('preemption', (agent) => {
      for (const entry of [...this.outstanding.values()]) if (entry.agentId === agent.info.id) this.close(entry, false);
    });
  }

  /**
   * Handles PREEMPT from `framework` for its `role` (checked by the caller: one of its roles, whose
   * acting user holds the band in the pool). Victims are picked in the pool asked for only. Throws
   * a coded error, changing nothing, on bad input. A dry run (`call.dryRun`) answers the plan a
   * real call would carry out now and changes nothing: no kill, no set-aside, no outstanding
   * request, no rate-limit token, no event.
   */
  preempt(framework: FrameworkRecord, call: PreemptCall, role: string): PreemptionPlan {
    const request = checkCall(call);
    const id = framework.info.id;
    const key = `${id}\u0000${call.requestId}`;
    const existing = this.outstanding.get(key);
    if (existing) return { ...existing.plan, outstanding: true, dryRun: call.dryRun };
    const band = effectiveBand(call.band);
    const refuse = (refusal: string): PreemptionPlan => ({
      requestId: call.requestId,
      granted: false,
      agentId: '',
      victims: [],
      refusal,
      outstanding: false,
      setAsideS: 0,
      hostname: '',
      dryRun: call.dryRun,
    });
    this.prune();
    const agents = [...this.ctx.agents.values()].filter(
      (a) => a.connection && a.active && agentMatches(a.info, call.pool, call.labels),
    );
    if (agents.length === 0) return refuse(`no connected agent in pool "${call.pool || 'default'}" carries the labels`);
    const assumed = new Set(call.assumePreempted.map((t) => taskKey(t.frameworkId, t.taskId)));
    const view = this.cellView(assumed);
    const choice = selectVictims(
      { resources: request, band },
      agents.map((a) => this.preemptionAgent(a, view)),
    );
    if (!choice)
      return refuse(
        `no agent has room for ${formatResources(request)} even after preempting every task below ${bandName(band)}`,
      );
    // A dry run asks whether the tokens are there; only a real preemption takes them.
    const tokens = call.dryRun
      ? this.bucket.available() >= choice.victims.length
      : this.bucket.take(choice.victims.length);
    if (!tokens) return refuse(`rate limited: ${choice.victims.length} victims needed; try again shortly`);
    const agent = this.ctx.agents.get(choice.agentId);
    const victims = choice.victims.map(toPreempted);
    const plan: PreemptionPlan = {
      requestId: call.requestId,
      granted: true,
      agentId: choice.agentId,
      victims,
      refusal: '',
      outstanding: false,
      setAsideS: this.ctx.timings.preemptionSetAsideMs / 1000,
      hostname: agent?.info.hostname ?? '',
      dryRun: call.dryRun,
    };
    if (call.dryRun) return plan;
    const entry: Outstanding = {
      key,
      frameworkId: id,
      role,
      agentId: choice.agentId,
      plan,
      victims: new Set(),
      setAside: emptyResources(),
    };
    this.outstanding.set(key, entry);
    const message = `preempted by ${framework.info.name} (${bandName(band)}) for ${call.requestId}`;
    for (const victim of choice.victims) {
      const victimKey = taskKey(victim.frameworkId, victim.taskId);
      const record = this.ctx.tasks.get(victimKey);
      if (!record) continue;
      record.preemptedBy = message;
      entry.victims.add(victimKey);
      this.victims.set(victimKey, entry);
      this.ctx.killTask(record);
    }
    this.grab(entry);
    if (victims.length > 0) {
      // The cluster's event (admins see it: it names other users' tasks); each victim's owner sees
      // their task's KILLED event, reason "preempted".
      this.ctx.events.append({
        kind: 'preemption',
        reason: call.reason,
        actor: framework.owner,
        frameworkId: '',
        agentId: choice.agentId,
        message: `${victims.length} task(s) preempted for ${call.requestId}`,
        preemption: {
          frameworkId: id,
          frameworkName: framework.info.name,
          band,
          requestId: call.requestId,
          agentId: choice.agentId,
          hostname: agent?.info.hostname ?? '',
          victims,
        },
      });
      this.ctx.log.info(
        { framework: id, request: call.requestId, agent: choice.agentId, victims: victims.map((v) => v.taskId) },
        'preemption',
      );
    }
    if (entry.victims.size === 0) {
      this.offer(entry);
    } else {
      entry.timer = setTimeout(() => {
        this.offer(entry);
      }, this.ctx.timings.preemptionKillWaitMs);
      entry.timer.unref();
    }
    return plan;
  }

  /** True while the task may not be preempted (it was placed by a preemption). */
  isImmune(key: string, now = Date.now()): boolean {
    return (this.immune.get(key) ?? 0) > now;
  }

  /**
   * What every agent's view needs, gathered in one pass each: the resources offered and set aside
   * on each agent, and a share per framework role. Per agent, these were a walk over every
   * outstanding offer: a PREEMPT on a 12,397-agent cell took seconds of the master's loop, and
   * the frameworks' streams went silent (issue 16).
   */
  private cellView(assumed: ReadonlySet<string>): CellView {
    const held = new Map<string, Resources>();
    const hold = (agentId: string, resources: Resources | undefined): void => {
      if (resources) held.set(agentId, addResources(held.get(agentId) ?? emptyResources(), resources));
    };
    for (const offer of this.ctx.offers.all()) hold(offer.agentId, offer.resources);
    for (const entry of this.outstanding.values()) hold(entry.agentId, entry.setAside);
    const shares = new Map<string, number>();
    const share = (frameworkId: string, role: string): number => {
      const key = `${frameworkId}\u0000${role}`;
      let value = shares.get(key);
      if (value === undefined) {
        value = this.ctx.clients.roleShare(frameworkId, role);
        shares.set(key, value);
      }
      return value;
    };
    return { assumed, held, share, now: Date.now() };
  }

  /** The agent as victim selection sees it; `view.assumed` (a dry run's) count as victims already. */
  private preemptionAgent(agent: AgentRecord, view: CellView): PreemptionAgent {
    let taken = view.held.get(agent.info.id) ?? emptyResources();
    const tasks: VictimCandidate[] = [];
    for (const key of agent.tasks) {
      const record = this.ctx.tasks.get(key);
      const task = record?.task;
      if (!record || !task?.resources || isTerminal(task.state)) continue;
      taken = addResources(taken, task.resources);
      if (record.killRequested || this.victims.has(key) || view.assumed.has(key) || this.isImmune(key, view.now))
        continue;
      tasks.push({
        taskId: task.taskId,
        frameworkId: task.frameworkId,
        name: task.name,
        band: effectiveBand(task.band),
        revocable: task.revocable ?? false,
        resources: task.resources,
        share: view.share(task.frameworkId, task.role),
        launchedAt: this.launchedAt.get(key) ?? 0,
      });
    }
    return { agentId: agent.info.id, free: clampScalars(subtractResources(agent.info.total, taken)), tasks };
  }

  private launched(task: Task): void {
    const key = taskKey(task.frameworkId, task.taskId);
    const now = Date.now();
    this.launchedAt.set(key, now);
    for (const entry of this.outstanding.values()) {
      if (entry.frameworkId !== task.frameworkId || entry.agentId !== task.agentId || entry.offerId === undefined)
        continue;
      if (this.ctx.offers.get(entry.offerId)) continue; // launched from another offer
      this.immune.set(key, now + this.ctx.timings.preemptionImmunityMs);
      // Every task of the same ACCEPT is immune too; the request is done after it.
      setImmediate(() => {
        this.close(entry, false);
      });
    }
  }

  private statusChanged(status: TaskStatus): void {
    if (!isTerminal(status.state)) return;
    const key = taskKey(status.frameworkId, status.taskId);
    this.immune.delete(key);
    this.launchedAt.delete(key);
    const entry = this.victims.get(key);
    if (!entry) return;
    this.victims.delete(key);
    entry.victims.delete(key);
    // The victim's resources went back to the allocator just now: they go to the requester.
    this.grab(entry);
    if (entry.victims.size === 0) this.offer(entry);
  }

  /** Allocates what is free on the agent to the requester. */
  private grab(entry: Outstanding): void {
    if (!this.ctx.frameworks.get(entry.frameworkId)?.active) return;
    const taken = this.ctx.clients.setAside(entry.frameworkId, entry.role, entry.agentId);
    if (!isEmptyResources(taken)) entry.setAside = addResources(entry.setAside, taken);
  }

  /** Offers what was set aside to the requester alone; rescinded if unused after the set-aside time. */
  private offer(entry: Outstanding): void {
    clearTimeout(entry.timer);
    if (entry.offerId !== undefined || this.outstanding.get(entry.key) !== entry) return;
    const framework = this.ctx.frameworks.get(entry.frameworkId);
    const agent = this.ctx.agents.get(entry.agentId);
    const resources = entry.setAside;
    entry.setAside = emptyResources();
    if (isEmptyResources(resources)) {
      this.close(entry, false);
      return;
    }
    if (!framework?.connection || !agent?.active) {
      this.ctx.clients.recover(entry.frameworkId, entry.role, entry.agentId, resources);
      this.ctx.loop.trigger();
      this.close(entry, false);
      return;
    }
    const offer = {
      id: this.ctx.offerIds.next(),
      frameworkId: entry.frameworkId,
      agentId: entry.agentId,
      hostname: agent.info.hostname,
      resources,
      attributes: agent.info.attributes,
      pool: agent.info.pool,
      reservedRole: '',
      allocationRole: entry.role,
      allowedHostPaths: agent.info.allowedHostPaths,
      heldVolumes: [],
    };
    entry.offerId = offer.id;
    this.ctx.offers.add(offer);
    this.ctx.sendEvent(entry.frameworkId, { event: { $case: 'offers', offers: { offers: [offer] } } });
    this.ctx.hooks.offersSent.call(framework, [offer]);
    entry.timer = setTimeout(() => {
      this.close(entry, true);
    }, this.ctx.timings.preemptionSetAsideMs);
    entry.timer.unref();
  }

  /** The request is done: its unused set-aside goes back (`rescind`: its offer is taken back too). */
  private close(entry: Outstanding, rescind: boolean): void {
    if (this.outstanding.get(entry.key) !== entry) return;
    clearTimeout(entry.timer);
    this.outstanding.delete(entry.key);
    for (const key of entry.victims) this.victims.delete(key);
    if (!isEmptyResources(entry.setAside)) {
      this.ctx.clients.recover(entry.frameworkId, entry.role, entry.agentId, entry.setAside);
      entry.setAside = emptyResources();
      this.ctx.loop.trigger();
    }
    const offer = entry.offerId === undefined ? undefined : this.ctx.offers.get(entry.offerId);
    if (offer && rescind) this.ctx.rescindOffer(offer, true);
  }

  /**
   * Forgets tasks the master no longer knows, at most once per {@link PRUNE_EVERY_MS}: a walk of
   * every task launched (133,000 at the full cell) on each PREEMPT was most of its cost.
   */
  private prune(now = Date.now()): void {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    for (const map of [this.immune, this.launchedAt])
      for (const key of map.keys()) if (!this.ctx.tasks.has(key)) map.delete(key);
  }
}

/**
 * The status a framework gets when a preempted task ends: TASK_KILLED with reason `preempted`
 * and a message naming the preemptor (a task that finished on its own stays finished).
 */
export function preemptedStatus(record: TaskRecord | undefined, status: TaskStatus): TaskStatus {
  if (!record?.preemptedBy || !isTerminal(status.state) || status.state === TaskState.TASK_FINISHED) return status;
  return { ...status, state: TaskState.TASK_KILLED, reason: PREEMPTED_REASON, message: record.preemptedBy };
}

const VALID_BANDS = new Set<Band>([
  Band.BAND_UNSPECIFIED,
  Band.BAND_BEST_EFFORT,
  Band.BAND_BATCH,
  Band.BAND_PRODUCTION,
  Band.BAND_MONITORING,
]);

/** At most this many tasks a dry run may count as preempted already. */
const MAX_ASSUMED = 1000;

function checkCall(call: PreemptCall): Resources {
  if (call.requestId === '' || call.requestId.length > 256)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'preempt.request_id must be 1..256 characters');
  const resources = call.resources;
  if (!resources) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'preempt.resources are missing');
  validateResources(resources, 'preempt.resources');
  if (resources.cpus <= 0 && resources.mem <= 0)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'preempt.resources need some cpus or mem');
  if (!VALID_BANDS.has(call.band))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `preempt.band ${call.band} is not a band`);
  if (call.assumePreempted.length > 0 && !call.dryRun)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'preempt.assume_preempted is for dry runs only: set dry_run');
  if (call.assumePreempted.length > MAX_ASSUMED)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `preempt.assume_preempted names ${call.assumePreempted.length} tasks; at most ${MAX_ASSUMED}`,
    );
  return { ...resources, ports: [] };
}

function toPreempted(victim: VictimCandidate): PreemptedTask {
  return {
    taskId: victim.taskId,
    frameworkId: victim.frameworkId,
    name: victim.name,
    band: effectiveBand(victim.band),
    resources: victim.resources,
    revocable: victim.revocable,
  };
}

/** Scalars below zero (an agent overcommitted for a moment) count as zero. */
function clampScalars(r: Resources): Resources {
  return {
    cpus: Math.max(0, r.cpus),
    mem: Math.max(0, r.mem),
    disk: Math.max(0, r.disk),
    gpus: Math.max(0, r.gpus),
    ports: r.ports,
  };
}
