/**
 * The master's side of agents: registration, re-registration, heartbeats, status updates,
 * disconnection and removal (whose tasks become LOST).
 */
import type { AgentInfo, HostPath, KeptVolume, Resources, Task, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import type { RegisterAgent } from '../../proto/gen/galaxy/v1/agent.js';
import { GalaxyError } from '../../core/errors.js';
import { addResources, cloneResources, emptyResources, validateResources } from '../../core/resources.js';
import { isTerminal } from '../../core/task-state.js';
import { checkId, checkRole } from '../../core/validate.js';
import { neverAllowed, notNormal } from '../../core/host-paths.js';
import type { MasterContext } from '../context.js';
import { checkAgentReservations } from '../tenancy/reservations.js';
import type { FrameworksController } from '../frameworks/frameworks.js';
import { preemptedStatus } from '../preemption/preemptor.js';
import { statusRefusal } from './agent-admission.js';
import { isAppliedResend, isStaleResend } from './resends.js';
import { TimerWheel } from './ping-wheel.js';
import { clientId, MAX_ROLES } from '../frameworks/role-clients.js';
import { taskKey, type AgentConnection, type AgentRecord } from '../records.js';
import { applyEstimate, revocableHeld } from '../revocable/revocable-offers.js';
import { takeKeptVolumes } from '../volumes/held-volumes.js';

/** Handles everything that comes from agents. */
export class AgentsController {
  /** The connected agents' pings: one timer for all of them. */
  private readonly pings: TimerWheel<AgentRecord>;

  constructor(
    private readonly ctx: MasterContext,
    private readonly frameworks: FrameworksController,
  ) {
    this.pings = new TimerWheel(ctx.timings.agentPingIntervalMs, (agent) => {
      this.ping(agent);
    });
  }

  /** Stops pinging (the master stops). */
  stop(): void {
    this.pings.stop();
  }

  /**
   * Throws a coded error when `registration` is malformed (what {@link register} checks first);
   * returns its agent info.
   */
  validate(registration: RegisterAgent): AgentInfo & { total: Resources } {
    const info = registration.agentInfo;
    if (!info?.total) throw new GalaxyError('GALAXY_E_AGENT_INVALID', 'registration carries no agent_info.total');
    if (info.hostname.trim() === '') throw new GalaxyError('GALAXY_E_AGENT_INVALID', 'agent_info.hostname is empty');
    validateResources(info.total, 'agent_info.total');
    checkAgentReservations({ ...info, total: info.total });
    checkAdvertisedHostPaths(info.allowedHostPaths);
    this.checkReport(registration);
    if (info.id !== '') checkId(info.id, 'agent_info.id', 'GALAXY_E_AGENT_INVALID');
    return { ...info, total: info.total };
  }

  /** A fresh agent id, for an agent admitted through a join token. */
  newAgentId(): string {
    return this.ctx.agentIds.next();
  }

  /**
   * Admits an agent (or re-admits one that names its id) and returns its record. `as.id` is the
   * id its credential binds it to (or the new id a join token admitted it as), whatever the
   * registration names; `as.credential` is sent back once, in AgentRegistered. Throws a coded
   * error, changing nothing, when the registration is malformed or the id is already connected.
   */
  register(
    registration: RegisterAgent,
    connection: AgentConnection,
    as: { readonly id?: string; readonly credential?: string } = {},
  ): AgentRecord {
    const valid = this.validate(registration);
    const named = valid.id;
    const info = { ...valid, id: as.id ?? named };
    const existing = info.id === '' ? undefined : this.ctx.agents.get(info.id);
    if (existing?.connection) {
      throw new GalaxyError(
        'GALAXY_E_AGENT_DUPLICATE',
        `agent ${info.id} is already connected from ${existing.info.hostname}; a second agent may not use its id`,
      );
    }
    const id = info.id === '' ? this.ctx.agentIds.next() : info.id;
    const reregistered = named !== '';
    if (existing) {
      clearTimeout(existing.removalTimer);
      this.pings.remove(existing);
      this.ctx.allocator.removeAgent(id);
      this.ctx.agents.delete(id);
    }
    const agent: AgentRecord = {
      info: { ...info, id, total: cloneResources(info.total) },
      connection,
      active: true,
      registeredAt: existing?.registeredAt ?? Date.now(),
      tasks: existing?.tasks ?? new Set(),
      lastPong: Date.now(),
    };
    this.ctx.hooks.agentAdmitting.call(agent.info);
    this.ctx.agents.set(id, agent);
    for (const fw of registration.frameworks) {
      const roles = registration.tasks.filter((t) => t.frameworkId === fw.id && t.role !== '').map((t) => t.role);
      this.frameworks.adoptFromAgent(fw, [...new Set(roles)]);
    }
    const toKill = this.reconcileReportedTasks(agent, registration.tasks, reregistered);
    // Its tasks on revocable resources hold them again; it lends nothing until it reports an estimate.
    this.ctx.revocable.resetAgent(id, revocableHeld(this.ctx, agent));
    this.ctx.allocator.addAgent(
      {
        id,
        hostname: agent.info.hostname,
        total: agent.info.total,
        attributes: agent.info.attributes,
        pool: agent.info.pool,
        reservations: agent.info.reservations.map((r) => ({
          role: r.role,
          resources: r.resources ?? emptyResources(),
        })),
      },
      this.usedByClient(agent),
    );
    // Its kept persistent volumes' bytes are held for their frameworks before anything is offered.
    takeKeptVolumes(this.ctx, agent, registration.keptVolumes?.volumes ?? []);
    connection.send({
      message: {
        $case: 'registered',
        registered: {
          agentId: id,
          masterId: this.ctx.masterId,
          heartbeatIntervalS: this.ctx.timings.agentPingIntervalMs / 1000,
          credential: as.credential ?? '',
        },
      },
    });
    for (const task of toKill) {
      connection.send({
        message: { $case: 'killTask', killTask: { frameworkId: task.frameworkId, taskId: task.taskId } },
      });
    }
    this.pings.add(agent);
    this.ctx.hooks.agentAdded.call(agent, reregistered);
    this.ctx.loop.trigger();
    return agent;
  }

  /** The agent's estimate of its revocable resources (checked and clamped: `revocable/revocable-offers.ts`). */
  revocableEstimate(agent: AgentRecord, estimate: Resources | undefined): void {
    applyEstimate(this.ctx, agent, estimate);
  }

  /** The agent's kept persistent volumes changed (checked whole: `volumes/held-volumes.ts`). */
  keptVolumes(agent: AgentRecord, volumes: readonly KeptVolume[]): void {
    takeKeptVolumes(this.ctx, agent, volumes);
  }

  /** The agent answered a ping. */
  pong(agent: AgentRecord): void {
    agent.lastPong = Date.now();
  }

  /**
   * A status update from an agent: recorded, then forwarded to the framework. An update for a task
   * the master did not place on this agent (or naming another agent) is refused: logged,
   * acknowledged to the sender so that it stops resending, and applied nowhere.
   */
  statusUpdate(agent: AgentRecord, status: TaskStatus): void {
    if (status.taskId === '' || status.frameworkId === '' || status.uuid === '') {
      this.ctx.log.warn({ agent: agent.info.id }, 'dropping a malformed status update');
      return;
    }
    const key = taskKey(status.frameworkId, status.taskId);
    const record = this.ctx.tasks.get(key);
    const completed = record ? undefined : this.ctx.completed.get(key);
    const refusal = statusRefusal(agent.info.id, status, record?.task.agentId ?? completed?.agentId);
    if (refusal !== undefined) {
      this.ctx.log.warn(
        { agent: agent.info.id, framework: status.frameworkId, task: status.taskId },
        `refused a status update: ${refusal}`,
      );
      this.ctx.acks.send(agent.connection, {
        frameworkId: status.frameworkId,
        taskId: status.taskId,
        uuid: status.uuid,
      });
      return;
    }
    if (record && isStaleResend(record.task.status, status)) {
      // The agent pipelines its updates and resends the unacknowledged ones in order: an earlier,
      // non-terminal update arriving after the task's end must not bring it back to life.
      this.ctx.acks.send(agent.connection, {
        frameworkId: status.frameworkId,
        taskId: status.taskId,
        uuid: status.uuid,
      });
      return;
    }
    const update: TaskStatus = preemptedStatus(record, { ...status, agentId: agent.info.id });
    // A resend of an update the task is at or past (its acknowledgement has not reached the agent
    // yet) is applied once: again, it took a RUNNING task back to STARTING, recorded a second
    // event and told every watcher twice; at the full cell resends outnumbered first sends 4 to 1
    // (issue 16). It is still forwarded: the framework may not have it.
    if (record && !isAppliedResend(record.task.status, status)) this.ctx.applyStatus(record, update);
    // A task forgotten early (its framework was torn down) still ends: record how.
    if (completed && !isTerminal(completed.state)) Object.assign(completed, { state: update.state, status: update });
    const framework = this.ctx.frameworks.get(status.frameworkId);
    if (!framework || this.ctx.removedFrameworks.has(status.frameworkId) || (!record && this.ctx.completed.has(key))) {
      // Nobody will ever acknowledge it: acknowledge on the framework's behalf so the agent stops retrying.
      this.ctx.acks.send(agent.connection, {
        frameworkId: status.frameworkId,
        taskId: status.taskId,
        uuid: status.uuid,
      });
      if (record && isTerminal(record.task.state)) this.ctx.finishTask(key);
      return;
    }
    // A resend of an update forwarded on this stream lately is not forwarded again yet.
    if (framework.connection && !this.ctx.forwardedUpdates.forward(key, update.uuid, framework.connection)) return;
    this.ctx.sendUpdate(update);
  }

  /**
   * The credential agent `agentId` registered with was revoked or replaced: its stream ends now,
   * and it is refused when it connects again with that credential.
   */
  credentialRevoked(agentId: string): void {
    const agent = this.ctx.agents.get(agentId);
    const connection = agent?.connection;
    if (!agent || !connection) return;
    this.ctx.log.warn({ agent: agentId }, "the agent's credential was revoked or replaced; disconnecting it");
    connection.send({
      message: {
        $case: 'error',
        error: {
          code: 'GALAXY_E_UNAUTHENTICATED',
          message: `GALAXY_E_UNAUTHENTICATED: the credential of agent ${agentId} was revoked or replaced`,
        },
      },
    });
    connection.close();
    this.disconnected(agent, connection);
  }

  /**
   * Tells a connected agent to kill every task and exit (`galaxy agent shutdown`); returns how many
   * live tasks it held. Its tasks' ends arrive as status updates; once it disconnects it is removed.
   */
  shutdown(agentId: string, requestedBy: string): number {
    const agent = this.ctx.agents.get(agentId);
    if (!agent) throw new GalaxyError('GALAXY_E_AGENT_UNKNOWN', `no agent ${agentId} (galaxy agents lists them)`);
    if (!agent.connection)
      throw new GalaxyError(
        'GALAXY_E_AGENT_NOT_CONNECTED',
        `agent ${agentId} (${agent.info.hostname}) is not connected: start it on its work dir, then shut it down`,
      );
    agent.shuttingDown = true;
    this.ctx.log.warn({ agent: agentId, requestedBy }, 'shutting the agent down: it kills every task and exits');
    agent.connection.send({ message: { $case: 'shutdown', shutdown: { requestedBy } } });
    return [...agent.tasks].filter((key) => {
      const record = this.ctx.tasks.get(key);
      return record !== undefined && !isTerminal(record.task.state);
    }).length;
  }

  /** The agent's stream ended. It keeps its tasks until the re-registration timeout. */
  disconnected(agent: AgentRecord, connection: AgentConnection): void {
    if (agent.connection !== connection) return;
    if (agent.shuttingDown) {
      // It was told to go: nothing will come back to re-register.
      this.remove(agent, 'agent-shutdown');
      return;
    }
    agent.connection = undefined;
    agent.active = false;
    this.pings.remove(agent);
    this.ctx.allocator.deactivateAgent(agent.info.id);
    this.ctx.rescindAgentOffers(agent.info.id, true);
    this.ctx.hooks.agentDisconnected.call(agent);
    agent.removalTimer = setTimeout(() => {
      this.remove(agent, 'agent-reregistration-timeout');
    }, this.ctx.timings.agentReregisterTimeoutMs);
    agent.removalTimer.unref();
  }

  /** Removes an agent for good: its live tasks become UNREACHABLE (or LOST) and frameworks hear of the failure. */
  remove(agent: AgentRecord, reason: string): void {
    const id = agent.info.id;
    if (this.ctx.agents.get(id) !== agent) return;
    this.pings.remove(agent);
    clearTimeout(agent.removalTimer);
    agent.connection?.close();
    this.ctx.rescindAgentOffers(id, true);
    for (const key of agent.tasks) {
      const record = this.ctx.tasks.get(key);
      if (!record || isTerminal(record.task.state)) continue;
      // An agent that stopped answering may still run its tasks behind a partition: UNREACHABLE
      // (Mesos' partition-aware state); frameworks replace them, and stale copies are killed
      // if the agent comes back.
      const state = reason === 'agent-reregistration-timeout' ? TaskState.TASK_UNREACHABLE : TaskState.TASK_LOST;
      this.ctx.lostTasks.add(key);
      this.ctx.reportStatus(record, state, reason, `agent ${id} (${agent.info.hostname}) was removed`);
    }
    this.ctx.allocator.removeAgent(id);
    this.ctx.revocable.removeAgent(id);
    this.ctx.agents.delete(id);
    for (const framework of this.ctx.frameworks.values()) {
      this.ctx.sendEvent(framework.info.id, { event: { $case: 'failure', failure: { agentId: id } } });
    }
    this.ctx.hooks.agentRemoved.call(agent, reason);
  }

  /** Resources held on the agent, by allocator client (framework and role, see `role-clients.ts`). */
  usedByClient(agent: AgentRecord): Map<string, Resources> {
    const used = new Map<string, Resources>();
    for (const key of agent.tasks) {
      const task = this.ctx.tasks.get(key)?.task;
      // Tasks on revocable resources hold none of the allocator's (revocable/revocable-pool.ts).
      if (
        !task?.resources ||
        task.onRevocable === true ||
        isTerminal(task.state) ||
        !this.ctx.clients.hasClient(task.frameworkId, task.role)
      )
        continue;
      const client = clientId(task.frameworkId, task.role);
      used.set(client, addResources(used.get(client) ?? emptyResources(), task.resources));
    }
    return used;
  }

  private checkReport(registration: RegisterAgent): void {
    for (const fw of registration.frameworks) {
      checkId(fw.id, 'frameworks[].id', 'GALAXY_E_AGENT_INVALID');
      checkRole(fw.role === '' ? '*' : fw.role, 'GALAXY_E_AGENT_INVALID');
      if (fw.roles.length > MAX_ROLES)
        throw new GalaxyError('GALAXY_E_AGENT_INVALID', `frameworks[].roles holds more than ${MAX_ROLES} roles`);
      for (const role of fw.roles) checkRole(role, 'GALAXY_E_AGENT_INVALID');
    }
    for (const task of registration.tasks) {
      checkId(task.taskId, 'tasks[].task_id', 'GALAXY_E_AGENT_INVALID');
      checkId(task.frameworkId, 'tasks[].framework_id', 'GALAXY_E_AGENT_INVALID');
      if (task.role !== '') checkRole(task.role, 'GALAXY_E_AGENT_INVALID');
      validateResources(task.resources ?? emptyResources(), `tasks[${task.taskId}].resources`);
    }
  }

  /**
   * Makes the master's view of the agent's tasks match what the agent reports. Returns the
   * reported tasks that must be killed: their framework is gone, or they were already reported LOST.
   */
  private reconcileReportedTasks(agent: AgentRecord, reported: readonly Task[], reregistered: boolean): Task[] {
    const toKill: Task[] = [];
    const seen = new Set<string>();
    for (const task of reported) {
      const key = taskKey(task.frameworkId, task.taskId);
      if (
        this.ctx.removedFrameworks.has(task.frameworkId) ||
        !this.ctx.frameworks.has(task.frameworkId) ||
        this.ctx.lostTasks.has(key)
      ) {
        // A stale copy (reported UNREACHABLE): it holds its resources until the kill ends it.
        const stale = this.ctx.tasks.get(key);
        if (stale?.task.agentId === agent.info.id && !isTerminal(stale.task.state)) agent.tasks.add(key);
        seen.add(key);
        toKill.push(task);
        continue;
      }
      seen.add(key);
      const record = this.ctx.tasks.get(key);
      if (record) {
        if (record.task.agentId !== agent.info.id) continue;
        if (!isTerminal(record.task.state)) record.task.state = task.state;
        if (record.killRequested) toKill.push(task);
      } else {
        // A task reported without a role (an agent from before roles) runs in its framework's first role.
        const role = task.role === '' ? (this.ctx.frameworks.get(task.frameworkId)?.info.role ?? '*') : task.role;
        this.ctx.clients.ensureRole(task.frameworkId, role);
        this.ctx.addTask({ ...task, role, agentId: agent.info.id });
      }
    }
    if (reregistered) {
      // Tasks reported UNREACHABLE that the returning agent no longer has: gone for good.
      for (const key of [...this.ctx.lostTasks]) {
        const record = this.ctx.tasks.get(key);
        if (!record || record.task.agentId !== agent.info.id || seen.has(key)) continue;
        this.ctx.lostTasks.delete(key);
        if (isTerminal(record.task.state)) continue;
        this.ctx.reportStatus(
          record,
          TaskState.TASK_GONE,
          'task-unknown-to-agent',
          'the agent came back without this task',
        );
      }
      for (const key of [...agent.tasks]) {
        const record = this.ctx.tasks.get(key);
        if (!record || seen.has(key) || isTerminal(record.task.state)) continue;
        this.ctx.reportStatus(
          record,
          TaskState.TASK_LOST,
          'task-unknown-to-agent',
          'the agent re-registered without this task',
        );
      }
    }
    return toKill;
  }

  /** One turn of the agent's pings: disconnected after too many unanswered, else pinged. */
  private ping(agent: AgentRecord): void {
    const connection = agent.connection;
    if (!connection) {
      this.pings.remove(agent);
      return;
    }
    const { agentPingIntervalMs: interval, agentMaxMissedPings: misses } = this.ctx.timings;
    if (Date.now() - agent.lastPong > interval * misses) {
      this.ctx.log.warn({ agent: agent.info.id }, `agent missed ${misses} pings; disconnecting it`);
      connection.close();
      this.disconnected(agent, connection);
      return;
    }
    agent.pingSeq = (agent.pingSeq ?? 0) + 1;
    connection.send({ message: { $case: 'ping', ping: { seq: agent.pingSeq } } });
  }
}

/**
 * An agent's `--allowed-host-paths` as it advertises them: at most 64, each absolute, normal and
 * never a forbidden one (an agent's report is input like any other).
 */
function checkAdvertisedHostPaths(paths: readonly HostPath[]): void {
  if (paths.length > 64)
    throw new GalaxyError('GALAXY_E_AGENT_INVALID', 'agent_info.allowed_host_paths lists more than 64 paths');
  for (const [i, entry] of paths.entries()) {
    const bad = notNormal(entry.path) ?? neverAllowed(entry.path);
    if (bad !== undefined)
      throw new GalaxyError(
        'GALAXY_E_AGENT_INVALID',
        `agent_info.allowed_host_paths[${i}] ${entry.path.slice(0, 100)} ${bad}`,
      );
  }
}
