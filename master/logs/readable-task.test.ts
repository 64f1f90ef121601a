import { describe, expect, it } from 'vitest';
import { Task } from '../../proto/gen/galaxy/v1/common.js';
import { readableTask } from './readable-task.js';

const task = (frameworkId: string, taskId: string, role: string): Task => ({
  ...Task.create(),
  frameworkId,
  taskId,
  role,
});
const tasks = [task('fw-a', 't1', 'alice'), task('fw-b', 't1', 'bob'), task('fw-a', 't2', 'alice')];
const mine = (user: string) => (t: Task) => t.role === user;

describe('readableTask', () => {
  it("finds the caller's task by id", () => {
    expect(readableTask(tasks, 't2', '', mine('alice'), 'alice').frameworkId).toBe('fw-a');
    expect(readableTask(tasks, 't1', '', mine('bob'), 'bob').frameworkId).toBe('fw-b');
  });

  it("answers another user's task exactly as a missing one", () => {
    const other = () => readableTask(tasks, 't2', '', mine('bob'), 'bob');
    const missing = () => readableTask(tasks, 'nope', '', mine('bob'), 'bob');
    expect(other).toThrow('GALAXY_E_TASK_UNKNOWN: no task "t2" whose output bob may read (galaxy tasks lists them)');
    expect(missing).toThrow('GALAXY_E_TASK_UNKNOWN: no task "nope" whose output bob may read');
  });

  it('asks for --framework when the id is in several frameworks the caller sees', () => {
    const all = () => true;
    expect(() => readableTask(tasks, 't1', '', all, 'admin')).toThrow(/GALAXY_E_INVALID_ARGUMENT.*--framework/);
    expect(readableTask(tasks, 't1', 'fw-b', all, 'admin').role).toBe('bob');
  });
});
