/**
 * The agent's trace: registration and every task's launch, exit and status, logged with who and
 * why. Written as a plugin on the agent's hooks, like any operator's plugin would be.
 */
import type { Logger } from '../../core/logger.js';
import { isTerminal, stateName } from '../../core/task-state.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { AGENT_PLUGIN_API_VERSION, type AgentPlugin } from '../hooks.js';

const NAME = 'task-trace';

/** States that end a task badly: logged as warnings so an operator sees them. */
const BAD = new Set<TaskState>([TaskState.TASK_FAILED, TaskState.TASK_ERROR, TaskState.TASK_LOST]);

/** Creates the trace plugin writing to `log`. */
export function taskTracePlugin(log: Logger): AgentPlugin {
  const trace = log.child({ trace: true });
  return {
    kind: 'agent',
    name: NAME,
    version: AGENT_PLUGIN_API_VERSION,
    galaxyApi: '^1',
    apply({ hooks }) {
      hooks.registered.tap(NAME, (agentId) => {
        trace.info({ agent: agentId }, 'registered with the master');
      });
      hooks.launched.tap(NAME, (context, pid) => {
        trace.info(
          { framework: context.framework.id, task: context.task.taskId, pid, sandbox: context.sandbox },
          'task launched',
        );
      });
      hooks.statusUpdate.tap(NAME, (status) => {
        const fields = {
          framework: status.frameworkId,
          task: status.taskId,
          state: stateName(status.state),
          reason: status.reason || undefined,
          exitCode: status.exitCode,
        };
        if (BAD.has(status.state)) trace.warn(fields, status.message);
        else if (isTerminal(status.state)) trace.info(fields, status.message);
        else trace.debug(fields, status.message);
      });
    },
  };
}
