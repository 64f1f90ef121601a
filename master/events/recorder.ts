/**
 * The event recorder: a master plugin that turns the master's hooks into events of the log —
 * agents (registered, re-registered, disconnected, removed, mode set), frameworks (subscribed,
 * re-subscribed after a failover, disconnected, removed) and tasks (launched, then each new state
 * with its reason). Who an event belongs to is the master's own knowledge — a task's acting user,
 * a framework's owner — never a label a framework set.
 */
import { stateName } from '../../core/task-state.js';
import { StatusSource, type Task, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { builtinMasterPlugin, type MasterHost, type MasterPlugin } from '../plugin.js';
import { taskKey, type FrameworkRecord } from '../records.js';
import type { EventLog, NewEvent } from './log.js';

/** How many tasks' last recorded states are remembered to drop resent updates. */
const SEEN_TASKS = 100_000;

/** The acting user of a task in `role` of a framework owned by `owner`. */
export type ActingUserOf = (owner: string, role: string) => string;

/** The value of a task's label, or ''. */
function label(task: Task | undefined, key: string): string {
  return task?.labels.find((l) => l.key === key)?.value ?? '';
}

/** The kind of a task's state, e.g. `task.running`. */
export function taskKind(state: TaskStatus['state']): string {
  return `task.${stateName(state).toLowerCase()}`;
}

/** Creates the recorder writing to `events`. */
export function eventRecorderPlugin(events: EventLog, actingUser: ActingUserOf): MasterPlugin {
  return {
    ...builtinMasterPlugin('event-recorder'),
    apply({ hooks, ctx }: MasterHost) {
      const name = 'event-recorder';
      const frameworkEvent = (fw: FrameworkRecord, kind: string, reason = ''): NewEvent => ({
        kind,
        reason,
        user: fw.owner,
        actor: fw.owner,
        frameworkId: fw.info.id,
        message: fw.info.name,
      });
      const taskEvent = (task: Task, kind: string, status?: TaskStatus): NewEvent => {
        const owner = ctx.frameworks.get(task.frameworkId)?.owner;
        return {
          kind,
          user: owner === undefined ? '' : actingUser(owner, task.role),
          actor: status
            ? status.source === StatusSource.SOURCE_MASTER
              ? 'master'
              : `agent ${task.agentId}`
            : (owner ?? ''),
          frameworkId: task.frameworkId,
          taskId: task.taskId,
          agentId: task.agentId,
          job: label(task, 'job'),
          pod: label(task, 'pod'),
          state: stateName(status?.state ?? task.state),
          reason: status?.reason ?? '',
          message: status?.message ?? task.name,
        };
      };
      hooks.agentAdded.tap(name, (agent, reregistered) => {
        events.append({
          kind: reregistered ? 'agent.reregistered' : 'agent.registered',
          agentId: agent.info.id,
          actor: `agent ${agent.info.id}`,
          message: `${agent.info.hostname} in pool ${agent.info.pool || 'default'}`,
        });
      });
      hooks.agentDisconnected.tap(name, (agent) => {
        events.append({
          kind: 'agent.disconnected',
          agentId: agent.info.id,
          actor: 'master',
          message: agent.info.hostname,
        });
      });
      hooks.agentRemoved.tap(name, (agent, reason) => {
        events.append({
          kind: 'agent.lost',
          agentId: agent.info.id,
          actor: 'master',
          reason,
          message: agent.info.hostname,
        });
      });
      hooks.agentModeChanged.tap(name, (agentId, mode, before, actor) => {
        const kind = mode === 'draining' ? 'agent.drained' : `agent.${mode}`;
        events.append({ kind, agentId, actor, state: mode, message: `was ${before}` });
      });
      hooks.frameworkSubscribed.tap(name, (fw, resubscribed) => {
        events.append(frameworkEvent(fw, resubscribed ? 'framework.failed-over' : 'framework.subscribed'));
      });
      hooks.frameworkDisconnected.tap(name, (fw) => {
        events.append(frameworkEvent(fw, 'framework.disconnected', 'its stream ended; its failover timeout runs'));
      });
      hooks.frameworkRemoved.tap(name, (fw, reason) => {
        events.append(frameworkEvent(fw, 'framework.removed', reason));
      });
      hooks.taskLaunched.tap(name, (task) => {
        events.append(taskEvent(task, 'task.launched'));
      });
      // Agents resend an update until it is acknowledged: only a new state is an event.
      const lastState = new Map<string, number>();
      hooks.statusUpdate.tap(name, (status) => {
        const key = taskKey(status.frameworkId, status.taskId);
        if (lastState.get(key) === status.state) return;
        lastState.delete(key);
        lastState.set(key, status.state);
        if (lastState.size > SEEN_TASKS) {
          const oldest = lastState.keys().next().value;
          if (oldest !== undefined) lastState.delete(oldest);
        }
        const task = ctx.tasks.get(key)?.task ?? ctx.completed.get(key);
        const base: Task = task ?? {
          taskId: status.taskId,
          frameworkId: status.frameworkId,
          agentId: status.agentId,
          name: '',
          state: status.state,
          role: '',
          labels: [],
        };
        events.append(taskEvent(base, taskKind(status.state), status));
      });
    },
  };
}
