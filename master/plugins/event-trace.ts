/**
 * The event trace: every state change of agents, frameworks and tasks, logged with who, what
 * and why. Written as a plugin on the master's hooks, like any operator's plugin would be.
 */
import type { Logger } from '../../core/logger.js';
import { stateName } from '../../core/task-state.js';
import { builtinMasterPlugin, type MasterPlugin } from '../plugin.js';

/** Creates the event-trace plugin writing to `log`. */
export function eventTracePlugin(log: Logger): MasterPlugin {
  const trace = log.child({ trace: true });
  return {
    ...builtinMasterPlugin('event-trace'),
    apply({ hooks }) {
      hooks.agentAdded.tap('event-trace', (agent, reregistered) => {
        trace.info(
          { agent: agent.info.id, hostname: agent.info.hostname, pool: agent.info.pool },
          reregistered ? 'agent re-registered' : 'agent registered',
        );
      });
      hooks.agentDisconnected.tap('event-trace', (agent) => {
        trace.warn({ agent: agent.info.id }, 'agent disconnected');
      });
      hooks.agentRemoved.tap('event-trace', (agent, reason) => {
        trace.warn({ agent: agent.info.id, reason }, 'agent removed');
      });
      hooks.frameworkSubscribed.tap('event-trace', (fw, resubscribed) => {
        trace.info(
          { framework: fw.info.id, name: fw.info.name, role: fw.info.role },
          resubscribed ? 'framework re-subscribed' : 'framework subscribed',
        );
      });
      hooks.frameworkRemoved.tap('event-trace', (fw, reason) => {
        trace.info({ framework: fw.info.id, reason }, 'framework removed');
      });
      hooks.taskLaunched.tap('event-trace', (task) => {
        trace.info({ framework: task.frameworkId, task: task.taskId, agent: task.agentId }, 'task launched');
      });
      hooks.statusUpdate.tap('event-trace', (status) => {
        trace.info(
          {
            framework: status.frameworkId,
            task: status.taskId,
            agent: status.agentId,
            state: stateName(status.state),
            reason: status.reason || undefined,
          },
          'task status',
        );
      });
    },
  };
}
