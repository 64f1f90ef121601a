/**
 * The checks of an UPDATES event as it arrives at a framework: a bounded count, the framework's
 * own statuses only, valid ids and a bounded uuid.
 */
import { describe, expect, it } from 'vitest';
import { GalaxyError } from '../../core/errors.js';
import { TaskState, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { checkedUpdates, checkUpdate, MAX_UPDATES_PER_EVENT } from './updates.js';

function status(taskId: string, more: Partial<TaskStatus> = {}): TaskStatus {
  return TaskStatus.fromPartial({
    taskId,
    frameworkId: 'fw-1',
    agentId: 'agent-1',
    state: TaskState.TASK_RUNNING,
    uuid: `u-${taskId}`,
    ...more,
  });
}

function codeOf(f: () => void): string | undefined {
  try {
    f();
    return undefined;
  } catch (error) {
    return error instanceof GalaxyError ? error.code : 'not coded';
  }
}

describe('UPDATES checks', () => {
  it('takes the statuses of this framework with valid ids, in order', () => {
    const refused: string[] = [];
    const statuses = [
      status('t1'),
      status('t2', { frameworkId: 'fw-2' }),
      status('t/3'),
      status('t4', { agentId: 'a b' }),
      status('t5', { uuid: 'x'.repeat(65) }),
      status('t6', { agentId: '', uuid: '' }), // a reconciliation answer of a task never placed
    ];
    const taken = checkedUpdates(statuses, 'fw-1', (s, e) => refused.push(`${s.taskId}:${e.code}`));
    expect(taken.map((s) => s.taskId)).toEqual(['t1', 't6']);
    expect(refused).toEqual([
      't2:GALAXY_E_INVALID_ARGUMENT',
      't/3:GALAXY_E_INVALID_ARGUMENT',
      't4:GALAXY_E_INVALID_ARGUMENT',
      't5:GALAXY_E_INVALID_ARGUMENT',
    ]);
  });

  it('refuses an event of more than the bound whole', () => {
    const many = Array.from({ length: MAX_UPDATES_PER_EVENT + 1 }, (_, i) => status(`t${i}`));
    expect(codeOf(() => checkedUpdates(many, 'fw-1', () => undefined))).toBe('GALAXY_E_LIMIT_EXCEEDED');
    expect(checkedUpdates(many.slice(1), 'fw-1', () => undefined)).toHaveLength(MAX_UPDATES_PER_EVENT);
  });

  it('refuses an empty or over-long task id', () => {
    const check = (taskId: string) =>
      codeOf(() => {
        checkUpdate(status(taskId, { uuid: 'u' }), 'fw-1');
      });
    expect(check('')).toBe('GALAXY_E_INVALID_ARGUMENT');
    expect(check('t'.repeat(201))).toBe('GALAXY_E_INVALID_ARGUMENT');
    expect(check('t'.repeat(200))).toBeUndefined();
  });
});
