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

  it('sends each update at once, resends the unacknowledged ones in order until acknowledged', async () => {
    const sent: TaskStatus[] = [];
    stream = new StatusUpdateStream({ send: (s) => sent.push(s) > 0, initialRetryMs: 20, maxRetryMs: 40 });
    const running = stream.enqueue(status('t1', TaskState.TASK_RUNNING));
    const finished = stream.enqueue(status('t1', TaskState.TASK_FINISHED));
    expect(running.uuid).not.toBe('');
    // Pipelined: the end is sent without waiting for RUNNING's acknowledgement.
    expect(sent.map((s) => s.uuid)).toEqual([running.uuid, finished.uuid]);
    await new Promise((r) => setTimeout(r, 120));
    expect(sent.length).toBeGreaterThanOrEqual(6);
    // Resends keep the order: RUNNING always right before FINISHED.
    for (let i = 0; i < sent.length; i += 2) {
      expect(sent[i]?.uuid).toBe(running.uuid);
      expect(sent[i + 1]?.uuid).toBe(finished.uuid);
    }
    expect(stream.acknowledge('fw', 't1', 'wrong-uuid')).toBe(false);
    expect(stream.acknowledge('fw', 't1', running.uuid)).toBe(true);
    expect(stream.pending().map((s) => s.uuid)).toEqual([finished.uuid]);
    await new Promise((r) => setTimeout(r, 60));
    expect(sent.at(-1)?.uuid).toBe(finished.uuid); // only FINISHED is resent now
    expect(stream.acknowledge('fw', 't1', finished.uuid)).toBe(true);
    const count = sent.length;
    await new Promise((r) => setTimeout(r, 80));
    expect(sent.length).toBe(count);
    expect(stream.pending()).toEqual([]);
  });

  it('waits longer before its first resend once acknowledgements take longer', async () => {
    const sent: TaskStatus[] = [];
    stream = new StatusUpdateStream({ send: (s) => sent.push(s) > 0, initialRetryMs: 50, maxRetryMs: 5000 });
    expect(stream.retryDelayMs).toBe(50);
    const first = stream.enqueue(status('a', TaskState.TASK_RUNNING));
    await new Promise((r) => setTimeout(r, 30)); // before its first resend (40–50 ms)
    expect(stream.acknowledge('fw', 'a', first.uuid)).toBe(true);
    // One round trip of about 30 ms (a timer may fire a little early): smoothed + 4 × variation, about 90 ms.
    expect(stream.retryDelayMs).toBeGreaterThan(80);
    const second = stream.enqueue(status('b', TaskState.TASK_RUNNING));
    await new Promise((r) => setTimeout(r, 65)); // past the fixed delay, before the estimate's
    expect(sent.filter((s) => s.uuid === second.uuid)).toHaveLength(1);
    expect(stream.acknowledge('fw', 'b', second.uuid)).toBe(true);
  });

  it('lets a first wait armed before the estimate grew last as long as the estimate now says', async () => {
    const sent: TaskStatus[] = [];
    const updates = new StatusUpdateStream({ send: (s) => sent.push(s) > 0, initialRetryMs: 100, maxRetryMs: 5000 });
    stream = updates;
    // Both leave at once (a burst), armed with the 100 ms floor (80–100 ms with jitter); y's
    // acknowledgement after t ≥ 40 ms raises the estimate to 3t ≥ 120 ms before x's timer fires.
    const x = updates.enqueue(status('x', TaskState.TASK_RUNNING));
    const y = updates.enqueue(status('y', TaskState.TASK_RUNNING));
    const start = performance.now();
    await new Promise((r) => setTimeout(r, 40));
    expect(updates.acknowledge('fw', 'y', y.uuid)).toBe(true);
    const acked = performance.now() - start;
    expect(updates.retryDelayMs).toBeGreaterThan(100);
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - acked) + 10)); // past x's first timer
    if (performance.now() - start < updates.retryDelayMs) expect(sent.filter((s) => s.uuid === x.uuid)).toHaveLength(1);
    await new Promise((r) => setTimeout(r, updates.retryDelayMs + 50)); // past the estimate: resent
    expect(sent.filter((s) => s.uuid === x.uuid).length).toBeGreaterThan(1);
  });

  it("takes no round trip from a resent update's acknowledgement (Karn's rule)", async () => {
    const sent: TaskStatus[] = [];
    stream = new StatusUpdateStream({ send: (s) => sent.push(s) > 0, initialRetryMs: 20, maxRetryMs: 5000 });
    const update = stream.enqueue(status('k', TaskState.TASK_RUNNING));
    await new Promise((r) => setTimeout(r, 80));
    expect(sent.filter((s) => s.uuid === update.uuid).length).toBeGreaterThan(1);
    expect(stream.acknowledge('fw', 'k', update.uuid)).toBe(true);
    expect(stream.retryDelayMs).toBe(20);
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
