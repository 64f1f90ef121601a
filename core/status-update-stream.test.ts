import { afterEach, describe, expect, it } from 'vitest';
import { StatusSource, TaskState, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { StatusUpdateStream } from './status-update-stream.js';

function status(taskId: string, state: TaskState): TaskStatus {
  return {
    taskId,
    frameworkId: 'fw',
    agentId: 'a',
    state,
    message: '',
    reason: '',
    source: StatusSource.SOURCE_AGENT,
    timestamp: 0,
    uuid: '',
  };
}

describe('StatusUpdateStream', () => {
  let stream: StatusUpdateStream | undefined;
  afterEach(() => stream?.stop());

  it('resends the head of each task until it is acknowledged, then sends the next', async () => {
    const sent: TaskStatus[] = [];
    stream = new StatusUpdateStream({ send: (s) => sent.push(s) > 0, initialRetryMs: 20, maxRetryMs: 40 });
    const running = stream.enqueue(status('t1', TaskState.TASK_RUNNING));
    const finished = stream.enqueue(status('t1', TaskState.TASK_FINISHED));
    expect(running.uuid).not.toBe('');
    await new Promise((r) => setTimeout(r, 120));
    expect(sent.every((s) => s.uuid === running.uuid)).toBe(true);
    expect(sent.length).toBeGreaterThanOrEqual(3);
    expect(stream.acknowledge('fw', 't1', 'wrong-uuid')).toBe(false);
    expect(stream.acknowledge('fw', 't1', running.uuid)).toBe(true);
    expect(sent.at(-1)?.uuid).toBe(finished.uuid);
    expect(stream.acknowledge('fw', 't1', finished.uuid)).toBe(true);
    const count = sent.length;
    await new Promise((r) => setTimeout(r, 80));
    expect(sent.length).toBe(count);
    expect(stream.pending()).toEqual([]);
  });

  it('keeps tasks independent and drops a framework on request', () => {
    const sent: TaskStatus[] = [];
    stream = new StatusUpdateStream({ send: (s) => sent.push(s) > 0 });
    stream.enqueue(status('a', TaskState.TASK_RUNNING));
    stream.enqueue(status('b', TaskState.TASK_RUNNING));
    expect(sent.map((s) => s.taskId)).toEqual(['a', 'b']);
    stream.dropFramework('fw');
    expect(stream.pending()).toEqual([]);
  });
});
