/**
 * What the agent refuses to run, and the message it gives.
 */
import { describe, expect, it } from 'vitest';
import type { RunTask } from '../proto/gen/galaxy/v1/agent.js';
import type { TaskInfo } from '../proto/gen/galaxy/v1/common.js';
import { killGraceMs, validateRunTask } from './task-validation.js';

function request(task: Partial<TaskInfo> = {}, frameworkId = 'fw-1'): RunTask {
  return {
    framework: { id: frameworkId, name: 'fw', role: '*', user: '', failoverTimeoutS: 0, hostname: '', roles: [] },
    task: {
      taskId: 't1',
      name: 't1',
      agentId: 'a1',
      resources: { cpus: 100, mem: 0, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31001 }] },
      command: { shell: 'true', argv: [], env: { A_1: 'x' }, user: '' },
      labels: [],
      killGraceS: 0,
      volumes: [],
      ...task,
    },
  };
}
const command = (c: Partial<NonNullable<TaskInfo['command']>>): Partial<TaskInfo> => ({
  command: { shell: '', argv: [], env: {}, user: '', ...c },
});

describe('validateRunTask', () => {
  it('accepts a well-formed task, shell or argv', () => {
    expect(validateRunTask(request()).task.taskId).toBe('t1');
    expect(validateRunTask(request(command({ argv: ['/bin/echo', 'hi'], user: 'nobody' }))).framework.id).toBe('fw-1');
  });

  it.each([
    ['no task', { ...request(), task: undefined }, 'carries no task'],
    ['no framework', { ...request(), framework: undefined }, 'carries no framework'],
    ['a task id with a slash', request({ taskId: 'a/b' }), 'task id "a/b"'],
    ['a framework id with ..', request({}, '..'), 'framework id ".."'],
    ['no command', request({ command: undefined }), 'has no command'],
    ['a blank command', request(command({ shell: '  ' })), 'has no command'],
    ['an empty program', request(command({ argv: [''] })), 'argv[0]'],
    ['a NUL in argv', request(command({ argv: ['/bin/echo', 'a\0b'] })), 'argv[1] contains a NUL'],
    ['a bad env name', request(command({ shell: 'true', env: { 'A=B': 'x' } })), 'command.env name "A=B"'],
    ['a bad user', request(command({ shell: 'true', user: 'root; rm' })), 'command.user'],
    ['a negative grace', request({ killGraceS: -1 }), 'kill_grace_s -1'],
    ['an endless grace', request({ killGraceS: Number.POSITIVE_INFINITY }), 'kill_grace_s Infinity'],
    [
      'a reversed port range',
      request({ resources: { cpus: 0, mem: 0, disk: 0, gpus: 0, ports: [{ begin: 9, end: 1 }] } }),
      'port range [9-1]',
    ],
  ] as const)('refuses %s with GALAXY_E_TASK_INVALID', (_what, run, text) => {
    expect(() => validateRunTask(run)).toThrow(
      expect.objectContaining({
        code: 'GALAXY_E_TASK_INVALID',
        message: expect.stringContaining(text) as string,
      }) as Error,
    );
  });

  it('uses the task’s grace, or 3 s when it names none', () => {
    expect(killGraceMs(request().task as TaskInfo)).toBe(3000);
    expect(killGraceMs({ ...(request().task as TaskInfo), killGraceS: 0.5 })).toBe(500);
  });
});
