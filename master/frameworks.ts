/**
 * The master's side of frameworks: subscription, failover, teardown, and the scheduler calls.
 */
import type { FrameworkInfo, Task } from '../proto/gen/galaxy/v1/common.js';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import type {
  Accept,
  Acknowledge,
  Decline,
  FrameworkMessage,
  CallResponse,
  Kill,
  Reconcile,
  SchedulerCall,
} from '../proto/gen/galaxy/v1/scheduler.js';
import type { RefuseFilter } from '../allocators/allocator.js';
import { GalaxyError } from '../core/errors.js';
import { isEmptyResources } from '../core/resources.js';
import { isTerminal } from '../core/task-state.js';
import { checkId, checkRole } from '../core/validate.js';
import { planAccept } from './accept.js';
import type { MasterAuthorization } from './authorization.js';
import type { MasterContext } from './context.js';
import type { Preemptor } from './preemptor.js';
import { taskKey, type FrameworkConnection, type FrameworkRecord } from './records.js';
import { OPEN_PRINCIPAL, type Principal } from '../core/auth/principal.js';
import { checkFrameworkCount, checkTasksPerAccept } from './limits.js';

/** Handles everything that comes from frameworks. */
export class FrameworksController {
  /** Launch and kill checks of an authenticating master with tenancy state; none: everything is allowed. */
  authorization?: MasterAuthorization;

  constructor(
    private readonly ctx: MasterContext,
    private readonly preemptor?: Preemptor,
  ) {}

  /**
   * SUBSCRIBE: admits a new framework, or takes back one that names its id. A new framework is
   * refused when its principal already has `frameworksPerPrincipal` registered.
   */
  subscribe(requested: FrameworkInfo, connection: FrameworkConnection, principal?: Principal): FrameworkRecord {
    const info = this.checkInfo(requested);
    if (info.id !== '' && this.ctx.removedFrameworks.has(info.id)) {
      throw new GalaxyError(
        'GALAXY_E_FRAMEWORK_UNKNOWN',
        `framework ${info.id} was torn down; subscribe without an id`,
      );
    }
    let framework = info.id === '' ? undefined : this.ctx.frameworks.get(info.id);
    const resubscribed = framework !== undefined;
    if (framework) {
      if (framework.info.role !== info.role) {
        throw new GalaxyError(
          'GALAXY_E_FRAMEWORK_INVALID',
          `framework ${info.id} has role ${framework.info.role}; it cannot change to ${info.role}`,
        );
      }
      const old = framework.connection;
      framework.connection = undefined;
      old?.close();
      clearTimeout(framework.failoverTimer);
      clearInterval(framework.heartbeatTimer);
      Object.assign(framework.info, {
        name: info.name,
        failoverTimeoutS: info.failoverTimeoutS,
        user: info.user,
        hostname: info.hostname,
      });
      this.ctx.allocator.activateFramework(framework.info.id);
    } else {
      const who = principal?.user ?? OPEN_PRINCIPAL.user;
      let registered = 0;
      for (const known of this.ctx.frameworks.values())
        if ((known.principal?.user ?? OPEN_PRINCIPAL.user) === who) registered += 1;
      checkFrameworkCount(`user ${who}`, registered, this.ctx.limits.frameworksPerPrincipal);
      const id = info.id === '' ? this.ctx.frameworkIds.next() : info.id;
      framework = { info: { ...info, id }, active: true, suppressed: false, tasks: new Set() };
      this.ctx.frameworks.set(id, framework);
      this.ctx.allocator.addFramework({ id, name: info.name, role: info.role }, new Map(), true);
    }
    framework.connection = connection;
    framework.active = true;
    const id = framework.info.id;
    connection.send({
      event: {
        $case: 'subscribed',
        subscribed: {
          frameworkId: id,
          heartbeatIntervalS: this.ctx.timings.frameworkHeartbeatMs / 1000,
          masterId: this.ctx.masterId,
        },
      },
    });
    framework.heartbeatTimer = setInterval(() => {
      this.ctx.sendEvent(id, { event: { $case: 'heartbeat', heartbeat: {} } });
    }, this.ctx.timings.frameworkHeartbeatMs);
    framework.heartbeatTimer.unref();
    this.ctx.masterUpdates.flush();
    this.ctx.hooks.frameworkSubscribed.call(framework, resubscribed);
    this.ctx.loop.trigger();
    return framework;
  }

  /**
   * A framework named by an agent that re-registers (after a master failover) before the
   * framework re-subscribed: known, inactive, and on its failover clock.
   */
  adoptFromAgent(info: FrameworkInfo): void {
    if (this.ctx.frameworks.has(info.id) || this.ctx.removedFrameworks.has(info.id)) return;
    const role = info.role === '' ? '*' : info.role;
    const framework: FrameworkRecord = { info: { ...info, role }, active: false, suppressed: false, tasks: new Set() };
    this.ctx.frameworks.set(info.id, framework);
    this.ctx.allocator.addFramework({ id: info.id, name: info.name, role }, new Map(), false);
    this.startFailoverClock(framework);
  }

  /** The framework's event stream ended: its tasks live on during its failover timeout. */
  disconnected(framework: FrameworkRecord, connection: FrameworkConnection): void {
    if (framework.connection !== connection) return;
    framework.connection = undefined;
    framework.active = false;
    clearInterval(framework.heartbeatTimer);
    this.ctx.allocator.deactivateFramework(framework.info.id);
    this.ctx.rescindOffers((offer) => offer.frameworkId === framework.info.id, false);
    this.startFailoverClock(framework);
  }

  /** Removes a framework: kills its tasks and frees what it held. */
  remove(framework: FrameworkRecord, reason: string): void {
    const id = framework.info.id;
    if (this.ctx.frameworks.get(id) !== framework) return;
    clearTimeout(framework.failoverTimer);
    clearInterval(framework.heartbeatTimer);
    this.ctx.rescindOffers((offer) => offer.frameworkId === id, false);
    for (const key of [...framework.tasks]) {
      const record = this.ctx.tasks.get(key);
      if (record && !isTerminal(record.task.state)) this.ctx.killTask(record);
      this.ctx.finishTask(key);
    }
    for (const agent of this.ctx.agents.values()) {
      agent.connection?.send({ message: { $case: 'shutdownFramework', shutdownFramework: { frameworkId: id } } });
    }
    this.ctx.masterUpdates.dropFramework(id);
    this.ctx.allocator.removeFramework(id);
    this.ctx.frameworks.delete(id);
    this.ctx.removedFrameworks.add(id);
    const connection = framework.connection;
    framework.connection = undefined;
    connection?.close();
    this.ctx.hooks.frameworkRemoved.call(framework, reason);
    this.ctx.loop.trigger();
  }

  /**
   * Any call but SUBSCRIBE; returns what the call answers (PREEMPT's plan), if anything. Throws a
   * coded error, changing nothing, on bad input.
   */
  call(call: SchedulerCall): CallResponse | undefined {
    const framework = this.ctx.frameworks.get(call.frameworkId);
    if (!framework?.connection) {
      throw new GalaxyError(
        'GALAXY_E_FRAMEWORK_UNKNOWN',
        `framework "${call.frameworkId.slice(0, 100)}" is not subscribed; SUBSCRIBE first`,
      );
    }
    const body = call.call;
    switch (body?.$case) {
      case 'accept':
        this.accept(framework, body.accept);
        return;
      case 'decline':
        this.decline(framework, body.decline);
        return;
      case 'revive':
        framework.suppressed = false;
        this.ctx.allocator.reviveOffers(framework.info.id);
        this.ctx.loop.trigger();
        return;
      case 'suppress':
        framework.suppressed = true;
        this.ctx.allocator.suppressOffers(framework.info.id);
        return;
      case 'kill':
        this.kill(framework, body.kill);
        return;
      case 'acknowledge':
        this.acknowledge(framework, body.acknowledge);
        return;
      case 'reconcile':
        this.reconcile(framework, body.reconcile);
        return;
      case 'teardown':
        this.remove(framework, 'teardown');
        return;
      case 'message':
        this.message(body.message);
        return;
      case 'preempt':
        if (!this.preemptor) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'this master does not preempt');
        return { preemption: this.preemptor.preempt(framework, body.preempt) };
      case undefined:
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'the call is empty');
    }
  }

  private accept(framework: FrameworkRecord, accept: Accept): void {
    const id = framework.info.id;
    const filter = this.checkFilter(accept.filters?.refuseSeconds);
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
    for (const task of plan.tasks) {
      const veto = this.ctx.hooks.validateLaunch.call(task, framework.info);
      if (veto !== undefined) throw new GalaxyError('GALAXY_E_TASK_INVALID', `task ${task.taskId}: ${veto}`);
    }
    const agent = this.ctx.agents.get(plan.agentId);
    if (!agent?.connection) throw new GalaxyError('GALAXY_E_OFFER_UNKNOWN', `agent ${plan.agentId} is not connected`);
    this.authorization?.check(framework.principal, plan.agentId, 'container:create', id);
    for (const offer of plan.offers) this.ctx.offers.remove(offer.id);
    for (const info of plan.tasks) {
      const task: Task = {
        taskId: info.taskId,
        name: info.name,
        frameworkId: id,
        agentId: plan.agentId,
        resources: info.resources,
        state: TaskState.TASK_STAGING,
        labels: info.labels,
        role: framework.info.role,
        band: info.band,
        revocable: info.revocable,
      };
      this.ctx.addTask(task);
      agent.connection.send({ message: { $case: 'runTask', runTask: { framework: framework.info, task: info } } });
      this.ctx.hooks.taskLaunched.call(task);
    }
    if (!isEmptyResources(plan.unused)) this.ctx.allocator.recoverResources(id, plan.agentId, plan.unused, filter);
    this.ctx.loop.trigger();
  }

  private decline(framework: FrameworkRecord, decline: Decline): void {
    const filter = this.checkFilter(decline.filters?.refuseSeconds);
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
      if (offer.resources)
        this.ctx.allocator.recoverResources(offer.frameworkId, offer.agentId, offer.resources, filter);
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
    this.authorization?.check(framework.principal, record.task.agentId, 'container:remove', framework.info.id);
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
    this.ctx.agents.get(record.task.agentId)?.connection?.send({
      message: { $case: 'ack', ack: { frameworkId: id, taskId: ack.taskId, uuid: ack.uuid } },
    });
    if (isTerminal(record.task.state) && record.task.status?.uuid === ack.uuid) this.ctx.finishTask(key);
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

  private message(message: FrameworkMessage): void {
    const agent = this.ctx.agents.get(message.agentId);
    if (!agent?.connection)
      throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `agent "${message.agentId.slice(0, 100)}" is not connected`);
    agent.connection.send({ message: { $case: 'frameworkMessage', frameworkMessage: { ...message } } });
  }

  private checkInfo(info: FrameworkInfo): FrameworkInfo {
    if (info.name.trim() === '') throw new GalaxyError('GALAXY_E_FRAMEWORK_INVALID', 'framework_info.name is empty');
    if (info.id !== '') checkId(info.id, 'framework_info.id', 'GALAXY_E_FRAMEWORK_INVALID');
    const role = info.role === '' ? '*' : info.role;
    checkRole(role, 'GALAXY_E_FRAMEWORK_INVALID');
    if (!(info.failoverTimeoutS >= 0 && info.failoverTimeoutS <= 365 * 86400)) {
      throw new GalaxyError(
        'GALAXY_E_FRAMEWORK_INVALID',
        'framework_info.failover_timeout_s must be between 0 and one year',
      );
    }
    return { ...info, role };
  }

  private checkFilter(refuseSeconds: number | undefined): RefuseFilter {
    if (refuseSeconds === undefined) return {};
    if (!(refuseSeconds >= 0 && refuseSeconds <= 365 * 86400)) {
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `filters.refuse_seconds must be between 0 and one year, got ${refuseSeconds}`,
      );
    }
    return { refuseSeconds };
  }

  private startFailoverClock(framework: FrameworkRecord): void {
    const timeoutMs =
      framework.info.failoverTimeoutS > 0
        ? framework.info.failoverTimeoutS * 1000
        : this.ctx.timings.defaultFailoverTimeoutMs;
    clearTimeout(framework.failoverTimer);
    // A timer fires at once past 2^31-1 ms (24.8 days), and a failover timeout may be a year:
    // the clock is re-armed until its deadline.
    const deadline = Date.now() + timeoutMs;
    const arm = (): void => {
      framework.failoverTimer = setTimeout(
        () => {
          if (Date.now() < deadline) arm();
          else this.remove(framework, 'failover-timeout');
        },
        Math.min(deadline - Date.now(), MAX_TIMER_MS),
      );
      framework.failoverTimer.unref();
    };
    arm();
  }
}

/** The longest delay a Node timer keeps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
