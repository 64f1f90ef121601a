import { describe, expect, it } from 'vitest';
import { StatusSource, TaskState, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { isStaleResend } from './agents.js';

const status = (state: TaskState, source = StatusSource.SOURCE_AGENT): TaskStatus => ({
  taskId: 't',
  frameworkId: 'fw',
  agentId: 'a',
  state,
  message: '',
  reason: '',
  source,
  timestamp: 0,
  uuid: 'u',
});

describe('isStaleResend', () => {
  it("drops an agent's non-terminal update that arrives after its terminal one (a pipelined resend)", () => {
    expect(isStaleResend(status(TaskState.TASK_FINISHED), status(TaskState.TASK_RUNNING))).toBe(true);
    expect(isStaleResend(status(TaskState.TASK_FAILED), status(TaskState.TASK_STARTING))).toBe(true);
  });

  it('keeps everything else: progress, repeated ends, and updates after a master-made end (a lost agent back)', () => {
    expect(isStaleResend(undefined, status(TaskState.TASK_RUNNING))).toBe(false);
    expect(isStaleResend(status(TaskState.TASK_RUNNING), status(TaskState.TASK_FINISHED))).toBe(false);
    expect(isStaleResend(status(TaskState.TASK_FINISHED), status(TaskState.TASK_FINISHED))).toBe(false);
    expect(isStaleResend(status(TaskState.TASK_LOST, StatusSource.SOURCE_MASTER), status(TaskState.TASK_RUNNING))).toBe(
      false,
    );
  });
});
