import { describe, expect, it } from 'vitest';
import { StatusSource, TaskState, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { isAppliedResend, isStaleResend } from './resends.js';

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

describe('isAppliedResend', () => {
  const at = (state: TaskState, uuid: string, source = StatusSource.SOURCE_AGENT): TaskStatus => ({
    ...status(state, source),
    uuid,
  });
  it('knows the update the task is at, and earlier steps of its progress, as applied', () => {
    expect(isAppliedResend(at(TaskState.TASK_RUNNING, 'u2'), at(TaskState.TASK_RUNNING, 'u2'))).toBe(true);
    expect(isAppliedResend(at(TaskState.TASK_RUNNING, 'u2'), at(TaskState.TASK_STARTING, 'u1'))).toBe(true);
    expect(isAppliedResend(at(TaskState.TASK_KILLING, 'u3'), at(TaskState.TASK_RUNNING, 'u2'))).toBe(true);
  });
  it('applies progress, ends, a first update, and anything after a master-made status', () => {
    expect(isAppliedResend(undefined, at(TaskState.TASK_RUNNING, 'u2'))).toBe(false);
    expect(isAppliedResend(at(TaskState.TASK_STARTING, 'u1'), at(TaskState.TASK_RUNNING, 'u2'))).toBe(false);
    expect(isAppliedResend(at(TaskState.TASK_RUNNING, 'u2'), at(TaskState.TASK_FINISHED, 'u3'))).toBe(false);
    expect(isAppliedResend(at(TaskState.TASK_RUNNING, 'u2'), at(TaskState.TASK_RUNNING, 'u9'))).toBe(false);
    expect(
      isAppliedResend(at(TaskState.TASK_UNREACHABLE, '', StatusSource.SOURCE_MASTER), at(TaskState.TASK_RUNNING, 'u2')),
    ).toBe(false);
  });
});
