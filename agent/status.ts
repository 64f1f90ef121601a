/**
 * The one place the agent builds a TaskStatus, so every update it sends has the same source,
 * clock and (empty, to be assigned by the status update stream) uuid.
 */
import { StatusSource, type TaskState, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';

/** What varies between the agent's status updates. */
export interface AgentStatusFields {
  readonly taskId: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly state: TaskState;
  /** A short code such as `non-zero-exit`, `duplicate-task` or `invalid-task`; '' when none. */
  readonly reason: string;
  readonly message: string;
  readonly exitCode?: number;
}

/** A status update from this agent, stamped now. */
export function agentStatus(fields: AgentStatusFields): TaskStatus {
  return {
    ...fields,
    source: StatusSource.SOURCE_AGENT,
    timestamp: Date.now() / 1000,
    uuid: '',
  };
}
