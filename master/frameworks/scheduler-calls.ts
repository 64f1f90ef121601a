/**
 * The scheduler calls a subscribed framework makes (everything but SUBSCRIBE): ACCEPT, DECLINE,
 * REVIVE, SUPPRESS, KILL, ACKNOWLEDGE, RECONCILE, TEARDOWN, MESSAGE, PREEMPT and UPDATE_FRAMEWORK.
 * Each is refused with GALAXY_E_PERMISSION_DENIED, changing nothing, unless the caller is the
 * framework's owner or an admin (docs/security.md); then it is checked in full before it changes
 * anything.
 */
import { isVolumeId } from '../../core/disks.js';
import type { DisksDestroyVolume } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { RefuseFilter } from '../../allocators/allocator.js';
import type { Principal } from '../../core/auth/principal.js';
import { effectiveBand } from '../../core/bands.js';
import { GalaxyError } from '../../core/errors.js';
import { isEmptyResources } from '../../core/resources.js';
import { requireActAs } from '../../core/tenancy/roles.js';
import { isTerminal } from '../../core/task-state.js';
import { TaskState, type FrameworkInfo, type Task } from '../../proto/gen/galaxy/v1/common.js';
import type {
  Accept,
  Acknowledge,
  CallResponse,
  Decline,
  FrameworkMessage,
  Kill,
  PublishEvents,
  Reconcile,
  SchedulerCall,
} from '../../proto/gen/galaxy/v1/scheduler.js';
import { planAccept } from './accept.js';
import type { MasterAuthorization } from '../tenancy/authorization.js';
import { checkAcknowledgementsPerCall, checkTasksPerAccept } from '../limits.js';
import type { MasterContext } from '../context.js';
import type { Preemptor } from '../preemption/preemptor.js';
import { taskKey, type FrameworkRecord } from '../records.js';
import { checkPublishedEvents } from '../events/published.js';
import { TokenBucket } from '../preemption/token-bucket.js';
import { persistentVolumesOf } from '../volumes/kept-volumes.js';
import { offerWithoutHeld } from '../../core/held-volumes.js';
import { forgetKeptVolume } from '../volumes/held-volumes.js';

/** Events a framework may publish at once, and per second after that: one cannot flood the log. */
const PUBLISH_BURST = 1000;
const PUBLISH_RATE_PER_S = 100;

/** What the frameworks controller carries out for calls (it owns the registry). */
export interface FrameworkLifecycle {
  /** UPDATE_FRAMEWORK. */
  update(framework: FrameworkRecord, info: FrameworkInfo): Promise<void>;
  /** TEARDOWN. */
  remove(framework: FrameworkRecord, reason: string): void;
}

/** Handles the calls of subscribed frameworks. */
export class SchedulerCalls {
  /** Each framework's budget of published events. */
  private readonly publishBudgets = new WeakMap<FrameworkRecord, TokenBucket>();

  constructor(
    private readonly ctx: MasterContext,
    private readonly authorization: MasterAuthorization,
    private readonly lifecycle: FrameworkLifecycle,
    private readonly preemptor?: Preemptor,
  ) {}

  /**
   * Any call but SUBSCRIBE; resolves with what the call answers (PREEMPT's plan), if anything.
   * Rejects with a coded error, changing nothing, when refused or malformed.
   */
  async call(call: SchedulerCall, caller: Principal): Promise<CallResponse | undefined> {
    const framework = this.ctx.frameworks.get(call.frameworkId);
    const unknown = () =>
      new GalaxyError(
        'GALAXY_E_FRAMEWORK_UNKNOWN',
        `framework "${call.frameworkId.slice(0, 100)}" is not subscribed; SUBSCRIBE first`,
      );
    if (!framework) throw unknown();
    requireActAs(caller, framework.owner, framework.info.id);
    if (!framework.connection) throw unknown();
    this.authorization.remember(caller);
    const body = call.call;
    switch (body?.$case) {
      case 'accept':
        this.accept(framework, body.accept);
        return;
      case 'decline':
        this.decline(framework, body.decline);
        return;
      case 'revive':
        this.ctx.clients.revive(framework.info.id, this.checkRoles(framework, body.revive.roles));
        this.ctx.revocable.revive(framework.info.id);
        framework.suppressed = this.ctx.clients.suppressed(framework.info.id);
        this.ctx.loop.trigger();
        return;
      case 'suppress':
        this.ctx.clients.suppress(framework.info.id, this.checkRoles(framework, body.suppress.roles));
        framework.suppressed = this.ctx.clients.suppressed(framework.info.id);
        return;
      case 'kill':
        this.kill(framework, body.kill);
        return;
      case 'acknowledge':
        this.acknowledge(framework, body.acknowledge);
        return;
      case 'acknowledgeMany':
        this.acknowledgeMany(framework, body.acknowledgeMany.acknowledgements);
        return;
      case 'reconcile':
        this.reconcile(framework, body.reconcile);
        return;
      case 'teardown':
        this.lifecycle.remove(framework, 'teardown');
        return;
      case 'message':
        this.message(framework, body.message);
        return;
      case 'disksDestroyVolume':
        this.destroyVolume(framework, body.disksDestroyVolume);
        return;
      case 'preempt': {
        if (!this.preemptor) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'this master does not preempt');
        // A dry run may name a role the framework does not hold yet but may add (its owner holds
        // it, checked below): a plan for an owner's first job asks before the role is added.
        const { dryRun, role: named } = body.preempt;
        const role = dryRun && named !== '' ? named : this.preemptRole(framework, named);
        this.authorization.checkPreempt(
          framework.owner,
          role,
          body.preempt.pool || 'default',
          effectiveBand(body.preempt.band),
          framework.info.id,
        );
        return { preemption: this.preemptor.preempt(framework, body.preempt, role) };
      }
      case 'updateFramework': {
        const info = body.updateFramework.frameworkInfo;
        if (!info) throw new GalaxyError('GALAXY_E_FRAMEWORK_INVALID', 'update_framework carries no framework_info');
        await this.lifecycle.update(framework, info);
        return;
      }
      case 'publishEvents':
        this.publishEvents(framework, body.publishEvents.events);
        return;
      case undefined:
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'the call is empty');
    }
  }

  /** PUBLISH_EVENTS: checked in full (`events/published.ts`) and within the budget, or none is kept. */
  private publishEvents(framework: FrameworkRecord, published: PublishEvents['events']): void {
    const events = checkPublishedEvents(published, {
      id: framework.info.id,
      name: framework.info.name,
      owner: framework.owner,
      actingUser: (role) => this.authorization.actingUser(framework.owner, role),
    });
    let budget = this.publishBudgets.get(framework);
    if (!budget) {
      budget = new TokenBucket(PUBLISH_BURST, PUBLISH_RATE_PER_S);
      this.publishBudgets.set(framework, budget);
    }
    if (!budget.take(events.length))
      throw new GalaxyError(
        'GALAXY_E_LIMIT_EXCEEDED',
        `framework ${framework.info.name} publishes more than ${PUBLISH_RATE_PER_S} events per second (burst ${PUBLISH_BURST}); none of these ${events.length} was kept: publish fewer, in larger intervals`,
      );
    for (const event of events) this.ctx.events.append(event);
  }

  private accept(framework: FrameworkRecord, accept: Accept): void {
    const id = framework.info.id;
    const filter = checkFilter(accept.filters?.refuseSeconds);
    let launches = 0;
    for (const operation of accept.operations)
      if (operation.operation?.$case === 'launch') launches += operation.operation.launch.taskInfos.length;
    checkTasksPerAccept(launches, this.ctx.limits.tasksPerAccept);
    const plan = planAccept(
      id,
      accept,
      (offerId) => this.ctx.offers.get(offerId),
      (taskId) => this.ctx.tasks.has(taskKey(id, taskId)),
    );
    const role = plan.role === '' ? framework.info.role : plan.role;
    if (!this.ctx.clients.hasRole(id, role))
      throw new GalaxyError(
        'GALAXY_E_OFFER_MISMATCH',
        `the offers are of role ${role}, which framework ${id} no longer holds`,
      );
    const agent = this.ctx.agents.get(plan.agentId);
    if (!agent?.connection) throw new GalaxyError('GALAXY_E_OFFER_UNKNOWN', `agent ${plan.agentId} is not connected`);
    // Authorization (roles, pool and band authorities, sandboxes) is a plugin on this hook too.
    const target = { owner: framework.owner, role, agentId: plan.agentId };
    for (const task of plan.tasks) {
      const veto = this.ctx.hooks.validateLaunch.call(task, framework.info, target);
      if (veto !== undefined) throw new GalaxyError('GALAXY_E_TASK_INVALID', `task ${task.taskId}: ${veto}`);
    }
    for (const offer of plan.offers) this.ctx.offers.remove(offer.id);
    // The agent reports each task with the role it runs in: the framework as this task sees it.
    const seen = { ...framework.info, role };
    for (const info of plan.tasks) {
      const task: Task = {
        taskId: info.taskId,
        name: info.name,
        frameworkId: id,
        agentId: plan.agentId,
        resources: info.resources,
        state: TaskState.TASK_STAGING,
        labels: info.labels,
        role,
        band: info.band,
        revocable: info.revocable,
        ...(plan.revocable ? { onRevocable: true } : {}),
      };
      const record = this.ctx.addTask(task);
      record.persistentVolumes = persistentVolumesOf(id, info.volumes, info.resources);
      record.claimedHolds = plan.claimed.filter((c) => record.persistentVolumes?.some((v) => v.volumeId === c));
      this.ctx.hooks.taskLaunched.call(task);
    }
    // One message for the ACCEPT's tasks: a write per task was what kept hundreds of tasks on one
    // agent waiting (issue 16).
    const [only] = plan.tasks;
    if (plan.tasks.length === 1 && only)
      agent.connection.send({ message: { $case: 'runTask', runTask: { framework: seen, task: only } } });
    else
      agent.connection.send({ message: { $case: 'runTasks', runTasks: { framework: seen, tasks: [...plan.tasks] } } });
    const [offer] = plan.offers;
    if (offer && !isEmptyResources(plan.unused))
      this.ctx.recoverOffer({ ...offer, allocationRole: role }, plan.unused, filter);
    this.ctx.loop.trigger();
  }

  private decline(framework: FrameworkRecord, decline: Decline): void {
    const filter = checkFilter(decline.filters?.refuseSeconds);
    const offers = decline.offerIds.map((offerId) => {
      const offer = this.ctx.offers.get(offerId);
      if (offer?.frameworkId !== framework.info.id) {
        throw new GalaxyError(
          'GALAXY_E_OFFER_UNKNOWN',
          `offer ${offerId.slice(0, 100)} is not an outstanding offer to this framework`,
        );
      }
      return offer;
    });
    for (const offer of offers) {
      this.ctx.offers.remove(offer.id);
      // Its held volumes' bytes stay held for the framework.
      if (offer.resources) this.ctx.recoverOffer(offer, offerWithoutHeld(offer), filter);
    }
    this.ctx.loop.trigger();
  }

  private kill(framework: FrameworkRecord, kill: Kill): void {
    const record = this.ctx.tasks.get(taskKey(framework.info.id, kill.taskId));
    if (!record)
      throw new GalaxyError(
        'GALAXY_E_TASK_UNKNOWN',
        `framework ${framework.info.id} has no live task "${kill.taskId.slice(0, 100)}"`,
      );
    this.authorization.checkKill(framework.owner, record.task.role, record.task.agentId, framework.info.id);
    if (!isTerminal(record.task.state)) this.ctx.killTask(record);
  }

  private acknowledge(framework: FrameworkRecord, ack: Acknowledge): void {
    const id = framework.info.id;
    const key = taskKey(id, ack.taskId);
    if (this.ctx.masterUpdates.acknowledge(id, ack.taskId, ack.uuid)) {
      const record = this.ctx.tasks.get(key);
      if (record && isTerminal(record.task.state)) this.ctx.finishTask(key);
      return;
    }
    const record = this.ctx.tasks.get(key);
    if (!record) {
      if (this.ctx.completed.has(key)) return; // a duplicate acknowledgement of an at-least-once update
      throw new GalaxyError(
        'GALAXY_E_TASK_UNKNOWN',
        `framework ${id} has no task "${ack.taskId.slice(0, 100)}" to acknowledge`,
      );
    }
    this.ctx.acks.send(this.ctx.agents.get(record.task.agentId)?.connection, {
      frameworkId: id,
      taskId: ack.taskId,
      uuid: ack.uuid,
    });
    if (isTerminal(record.task.state) && record.task.status?.uuid === ack.uuid) this.ctx.finishTask(key);
  }

  /**
   * Each acknowledgement as one ACKNOWLEDGE: one that names no task of the framework leaves the
   * others applied (each is independent, as separate calls would be), and the call then fails
   * with the first refusal and the count.
   */
  private acknowledgeMany(framework: FrameworkRecord, acks: readonly Acknowledge[]): void {
    checkAcknowledgementsPerCall(acks.length, this.ctx.limits.acknowledgementsPerCall);
    let refused: GalaxyError | undefined;
    let refusals = 0;
    for (const ack of acks) {
      try {
        this.acknowledge(framework, ack);
      } catch (error) {
        if (!(error instanceof GalaxyError)) throw error;
        refused ??= error;
        refusals += 1;
      }
    }
    if (refused)
      throw new GalaxyError(
        refused.code,
        `${refusals} of ${acks.length} acknowledgements refused; the first: ${refused.detail}`,
      );
  }

  /** Explicit (named tasks) or implicit (empty list: every task the master knows) reconciliation. */
  private reconcile(framework: FrameworkRecord, reconcile: Reconcile): void {
    const id = framework.info.id;
    const answer = (task: Task): void => {
      const base = task.status ?? this.ctx.masterStatus(task, task.state, '', '');
      this.ctx.sendUpdate({ ...base, state: task.state, reason: 'reconciliation', uuid: '' });
    };
    if (reconcile.tasks.length === 0) {
      for (const key of framework.tasks) {
        const record = this.ctx.tasks.get(key);
        if (record) answer(record.task);
      }
      return;
    }
    for (const wanted of reconcile.tasks) {
      const key = taskKey(id, wanted.taskId);
      const known = this.ctx.tasks.get(key)?.task ?? this.ctx.completed.get(key);
      if (known) {
        answer(known);
      } else if (awaited(this.ctx.awaitedAgents, wanted.agentId)) {
        // Its agent may still bring it back (a failover): asked again, it is answered once the
        // agent re-registered or was reported lost.
        continue;
      } else {
        const unknown: Task = {
          taskId: wanted.taskId,
          name: '',
          frameworkId: id,
          agentId: wanted.agentId,
          state: TaskState.TASK_UNKNOWN,
          labels: [],
          role: framework.info.role,
        };
        answer(unknown);
      }
    }
  }

  /** MESSAGE: bytes to one of the framework's own tasks, on the agent it runs on. */
  private message(framework: FrameworkRecord, message: FrameworkMessage): void {
    const record = this.ctx.tasks.get(taskKey(framework.info.id, message.taskId));
    if (!record || record.task.agentId !== message.agentId || isTerminal(record.task.state))
      throw new GalaxyError(
        'GALAXY_E_TASK_UNKNOWN',
        `framework ${framework.info.id} has no live task "${message.taskId.slice(0, 100)}" on agent "${message.agentId.slice(0, 100)}"`,
      );
    const agent = this.ctx.agents.get(message.agentId);
    if (!agent?.connection)
      throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `agent "${message.agentId.slice(0, 100)}" is not connected`);
    agent.connection.send({ message: { $case: 'frameworkMessage', frameworkMessage: { ...message } } });
  }

  /**
   * DESTROY of a persistent disk volume: passed to the agent with the caller's own framework id,
   * so a framework reaches only its own volumes (docs/disks.md).
   */
  private destroyVolume(framework: FrameworkRecord, call: DisksDestroyVolume): void {
    if (!isVolumeId(call.volumeId))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `volume id "${call.volumeId.slice(0, 100)}" is not pod/volume`,
      );
    const agent = this.ctx.agents.get(call.agentId);
    if (!agent?.connection)
      throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `agent "${call.agentId.slice(0, 100)}" is not connected`);
    forgetKeptVolume(this.ctx, call.agentId, framework.info.id, call.volumeId);
    agent.connection.send({
      message: {
        $case: 'disksDestroyVolume',
        disksDestroyVolume: { frameworkId: framework.info.id, volumeId: call.volumeId },
      },
    });
  }

  /** The role a PREEMPT asks for: the named one (one of the framework's), or its only role. */
  private preemptRole(framework: FrameworkRecord, requested: string): string {
    const roles = this.ctx.clients.roles(framework.info.id);
    if (requested === '') {
      if (roles.length === 1 && roles[0] !== undefined) return roles[0];
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `framework ${framework.info.id} holds ${roles.length} roles: preempt.role must name one of them`,
      );
    }
    this.checkRoles(framework, [requested]);
    return requested;
  }

  /** Throws GALAXY_E_INVALID_ARGUMENT unless every role named is one of the framework's; returns them. */
  private checkRoles(framework: FrameworkRecord, roles: readonly string[]): readonly string[] {
    const held = this.ctx.clients.roles(framework.info.id);
    const unknown = roles.filter((role) => !held.includes(role));
    if (unknown.length > 0)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `framework ${framework.info.id} does not hold role ${unknown.map((r) => r.slice(0, 80)).join(', ')}; it holds ${held.join(', ')}`,
      );
    return roles;
  }
}

function checkFilter(refuseSeconds: number | undefined): RefuseFilter {
  if (refuseSeconds === undefined) return {};
  if (!(refuseSeconds >= 0 && refuseSeconds <= 365 * 86400)) {
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `filters.refuse_seconds must be between 0 and one year, got ${refuseSeconds}`,
    );
  }
  return { refuseSeconds };
}

/** True when a task on `agentId` ('' when the framework does not say) may still be brought back by an agent the master awaits. */
function awaited(agents: ReadonlySet<string> | undefined, agentId: string): boolean {
  if (agents === undefined) return true;
  return agentId === '' ? agents.size > 0 : agents.has(agentId);
}
