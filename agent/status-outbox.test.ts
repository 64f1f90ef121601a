import { afterEach, describe, expect, it } from 'vitest';
import type { AgentMessage } from '../proto/gen/galaxy/v1/agent.js';
import { StatusSource, TaskState, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { StatusUpdateStream } from '../core/status-update-stream.js';
import { checkStatusBatch, MAX_STATUS_UPDATES_PER_MESSAGE, statusMessages } from '../core/status-batch.js';
import { isGalaxyError } from '../core/errors.js';
import { StatusOutbox } from './status-outbox.js';

/** Short names of the states in the tests' uuids (`t1-S` is t1's STARTING). */
const SHORT: Partial<Record<TaskState, string>> = {
  [TaskState.TASK_STARTING]: 'S',
  [TaskState.TASK_RUNNING]: 'R',
  [TaskState.TASK_FINISHED]: 'F',
};

function status(taskId: string, state: TaskState, uuid = `${taskId}-${SHORT[state] ?? state}`): TaskStatus {
  return {
    taskId,
    frameworkId: 'fw',
    agentId: 'a',
    state,
    message: '',
    reason: '',
    source: StatusSource.SOURCE_AGENT,
    timestamp: 0,
    uuid,
  };
}

/** The statuses a message carries, in order. */
function carried(message: AgentMessage): TaskStatus[] {
  const body = message.message;
  if (body?.$case === 'statusUpdate') return body.statusUpdate.status ? [body.statusUpdate.status] : [];
  if (body?.$case === 'statusUpdates') return body.statusUpdates.statuses;
  throw new Error(`not a status message: ${body?.$case ?? 'empty'}`);
}

/**
 * An outbox over a fake stream whose flushes the test steps (`turn()`) and whose writes the test
 * completes (`take()`), as gRPC's write callback would.
 */
function harness(options: { connected?: boolean; maxPerMessage?: number } = {}) {
  const written: AgentMessage[] = [];
  const callbacks: (() => void)[] = [];
  let deferred: (() => void)[] = [];
  const state = { connected: options.connected ?? true };
  const outbox = new StatusOutbox({
    write: (message, done) => {
      if (!state.connected) return false;
      written.push(message);
      callbacks.push(done);
      return true;
    },
    connected: () => state.connected,
    defer: (flush) => deferred.push(flush),
    ...(options.maxPerMessage ? { maxPerMessage: options.maxPerMessage } : {}),
  });
  return {
    outbox,
    written,
    state,
    /** Ends the current turn of the event loop: runs the deferred flushes. */
    turn(): void {
      const now = deferred;
      deferred = [];
      for (const flush of now) flush();
    },
    /** The transport takes every message written so far. */
    take(): void {
      for (const done of callbacks.splice(0)) done();
    },
    uuids: () => written.flatMap(carried).map((s) => s.uuid),
  };
}

describe('StatusOutbox', () => {
  it('sends the updates of one turn as one message, in order; one update alone stays a statusUpdate', () => {
    const h = harness();
    h.outbox.send(status('t1', TaskState.TASK_STARTING));
    h.outbox.send(status('t2', TaskState.TASK_STARTING));
    h.outbox.send(status('t1', TaskState.TASK_RUNNING));
    expect(h.written).toEqual([]); // nothing before the turn ends
    h.turn();
    expect(h.written).toHaveLength(1);
    expect(h.written[0]?.message?.$case).toBe('statusUpdates');
    expect(h.uuids()).toEqual(['t1-S', 't2-S', 't1-R']);
    h.take();
    h.outbox.send(status('t2', TaskState.TASK_FINISHED));
    h.turn();
    expect(h.written.at(-1)?.message?.$case).toBe('statusUpdate');
    expect(h.outbox.messages).toBe(2);
    expect(h.outbox.updates).toBe(4);
  });

  it('holds what comes while a message is being written, and sends it together once it is taken', () => {
    const h = harness();
    h.outbox.send(status('t1', TaskState.TASK_STARTING));
    h.turn();
    expect(h.written).toHaveLength(1);
    // The first write is not taken yet: these wait, over several turns.
    h.outbox.send(status('t1', TaskState.TASK_RUNNING));
    h.turn();
    h.outbox.send(status('t2', TaskState.TASK_STARTING));
    h.outbox.send(status('t1', TaskState.TASK_FINISHED));
    h.turn();
    expect(h.written).toHaveLength(1);
    expect(h.outbox.queued).toBe(3);
    h.take(); // the transport took the first: the rest leave in the next turn, as one message
    expect(h.written).toHaveLength(1);
    h.turn();
    expect(h.written).toHaveLength(2);
    expect(carried(h.written[1] as AgentMessage).map((s) => s.uuid)).toEqual(['t1-R', 't2-S', 't1-F']);
    // Per task, the order is the order of sending.
    expect(h.uuids().filter((u) => u.startsWith('t1'))).toEqual(['t1-S', 't1-R', 't1-F']);
  });

  it('splits a burst into messages of at most the bound, in order', () => {
    const h = harness({ maxPerMessage: 2 });
    for (let i = 0; i < 5; i++) h.outbox.send(status(`t${i}`, TaskState.TASK_STARTING));
    h.turn();
    expect(h.written.map((m) => carried(m).length)).toEqual([2, 2, 1]);
    expect(h.uuids()).toEqual(['t0-S', 't1-S', 't2-S', 't3-S', 't4-S']);
    expect(h.written.at(-1)?.message?.$case).toBe('statusUpdate');
  });

  it('queues an update once while it waits: a resend of one still queued adds nothing', () => {
    const h = harness();
    h.outbox.send(status('t1', TaskState.TASK_STARTING));
    h.turn();
    // The write is stuck (the transport does not take it); the update stream resends twice meanwhile.
    for (let retry = 0; retry < 2; retry++) {
      h.outbox.send(status('t1', TaskState.TASK_STARTING));
      h.outbox.send(status('t1', TaskState.TASK_RUNNING));
    }
    expect(h.outbox.queued).toBe(2);
    h.take();
    h.turn();
    expect(h.uuids()).toEqual(['t1-S', 't1-S', 't1-R']);
    // Once written, a later resend goes again (at least once, until acknowledged).
    h.take();
    h.outbox.send(status('t1', TaskState.TASK_RUNNING));
    h.turn();
    expect(h.uuids()).toEqual(['t1-S', 't1-S', 't1-R', 't1-R']);
  });

  it("keeps a task's newest state last when a resend round meets a newer update still queued", () => {
    const h = harness();
    h.outbox.send(status('t1', TaskState.TASK_STARTING));
    h.turn(); // STARTING is being written
    h.outbox.send(status('t1', TaskState.TASK_RUNNING)); // new: waits
    // The update stream's retry resends the task's unacknowledged updates, oldest first.
    h.outbox.send(status('t1', TaskState.TASK_STARTING));
    h.outbox.send(status('t1', TaskState.TASK_RUNNING));
    h.take();
    h.turn();
    expect(carried(h.written[1] as AgentMessage).map((s) => s.uuid)).toEqual(['t1-S', 't1-R']);
  });

  it('drops what it cannot write without a stream, and a reset forgets an unfinished write of the old stream', () => {
    const h = harness({ connected: false });
    expect(h.outbox.send(status('t1', TaskState.TASK_STARTING))).toBe(false);
    h.turn();
    expect(h.written).toEqual([]);
    expect(h.outbox.queued).toBe(0); // the update stream resends it after the registration
    h.state.connected = true;
    h.outbox.send(status('t1', TaskState.TASK_RUNNING));
    h.turn();
    expect(h.written).toHaveLength(1);
    // The stream breaks before the write is taken (its callback never comes): a new registration resets.
    h.outbox.send(status('t1', TaskState.TASK_FINISHED));
    h.outbox.reset();
    expect(h.outbox.queued).toBe(0);
    h.outbox.send(status('t2', TaskState.TASK_STARTING));
    h.turn();
    expect(h.written).toHaveLength(2); // not held back by the old stream's write
    expect(carried(h.written[1] as AgentMessage).map((s) => s.uuid)).toEqual(['t2-S']);
    h.take(); // the old callback, if it comes late, changes nothing
    h.outbox.send(status('t2', TaskState.TASK_RUNNING));
    h.turn();
    expect(h.written).toHaveLength(3);
  });
});

describe('StatusOutbox under the StatusUpdateStream', () => {
  let stream: StatusUpdateStream | undefined;
  afterEach(() => stream?.stop());

  it('resends the unacknowledged updates of a batch in order until each is acknowledged', async () => {
    const h = harness();
    stream = new StatusUpdateStream({ send: (s) => h.outbox.send(s), initialRetryMs: 20, maxRetryMs: 20 });
    const starting = stream.enqueue(status('t1', TaskState.TASK_STARTING, ''));
    const running = stream.enqueue(status('t1', TaskState.TASK_RUNNING, ''));
    const other = stream.enqueue(status('t2', TaskState.TASK_STARTING, ''));
    const finished = stream.enqueue(status('t1', TaskState.TASK_FINISHED, ''));
    h.turn();
    h.take();
    expect(h.written).toHaveLength(1);
    expect(h.uuids()).toEqual([starting.uuid, running.uuid, other.uuid, finished.uuid]);
    // The master acknowledges part of the batch: RUNNING of t1, and t2.
    expect(stream.acknowledge('fw', 't1', running.uuid)).toBe(true);
    expect(stream.acknowledge('fw', 't2', other.uuid)).toBe(true);
    await new Promise((r) => setTimeout(r, 60));
    h.turn();
    h.take();
    // Only t1's STARTING and FINISHED are resent, as one message, in their order.
    const resent = h.written.slice(1).map(carried);
    expect(resent.length).toBeGreaterThanOrEqual(1);
    for (const message of resent) expect(message.map((s) => s.uuid)).toEqual([starting.uuid, finished.uuid]);
    expect(stream.acknowledge('fw', 't1', starting.uuid)).toBe(true);
    expect(stream.acknowledge('fw', 't1', finished.uuid)).toBe(true);
    expect(stream.pending()).toEqual([]);
    const count = h.written.length;
    await new Promise((r) => setTimeout(r, 60));
    h.turn();
    expect(h.written).toHaveLength(count); // nothing left to resend
  });
});

describe('status batches', () => {
  it('a master takes at most MAX_STATUS_UPDATES_PER_MESSAGE per message, with a clear error past it', () => {
    expect(() => {
      checkStatusBatch(MAX_STATUS_UPDATES_PER_MESSAGE);
    }).not.toThrow();
    let error: unknown;
    try {
      checkStatusBatch(MAX_STATUS_UPDATES_PER_MESSAGE + 1);
    } catch (caught) {
      error = caught;
    }
    expect(isGalaxyError(error, 'GALAXY_E_TOO_LARGE')).toBe(true);
    expect(String(error)).toContain(`at most ${MAX_STATUS_UPDATES_PER_MESSAGE}`);
    expect(statusMessages([])).toEqual([]);
  });
});
