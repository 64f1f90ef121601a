/**
 * Status updates to a framework leave in batches: those of one turn for a framework that takes
 * UPDATES are one event, bounded in count and bytes, in order and before any later event; a
 * framework that did not ask gets each update alone, at once. Counted, not timed.
 */
import { describe, expect, it } from 'vitest';
import { TaskState, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { Connection, type FrameworkConnection } from '../records.js';
import { statusBytesBound, UpdateOutbox } from './update-outbox.js';

function fakeConnection(): { connection: FrameworkConnection; sent: Event[] } {
  const sent: Event[] = [];
  const connection: FrameworkConnection = new Connection<Event>({
    write: (m: Event) => sent.push(m),
    end: () => undefined,
  });
  return { connection, sent };
}

function status(taskId: string, uuid = `u-${taskId}`, message = ''): TaskStatus {
  return TaskStatus.fromPartial({
    taskId,
    frameworkId: 'fw-1',
    agentId: 'agent-1',
    state: TaskState.TASK_RUNNING,
    uuid,
    message,
  });
}

function update(s: TaskStatus): Event {
  return { event: { $case: 'update', update: { status: s } } };
}

/** The task ids each sent event carries, `offers` for an offers event. */
function shape(sent: readonly Event[]): string[][] {
  return sent.map((e) => {
    const body = e.event;
    if (body?.$case === 'updates') return body.updates.statuses.map((s) => s.taskId);
    if (body?.$case === 'update') return [`single:${body.update.status?.taskId ?? ''}`];
    return [body?.$case ?? 'empty'];
  });
}

describe('UpdateOutbox', () => {
  it('sends the updates of one turn as one UPDATES event, in order, to a framework that takes them', () => {
    const turns: (() => void)[] = [];
    const outbox = new UpdateOutbox((flush) => turns.push(flush));
    const a = fakeConnection();
    outbox.acceptBatches(a.connection);
    for (let i = 0; i < 300; i++) outbox.send(a.connection, update(status(`t${i}`)));
    expect(turns).toHaveLength(1);
    expect(a.sent).toHaveLength(0);
    turns[0]?.();
    expect(shape(a.sent)).toEqual([Array.from({ length: 300 }, (_, i) => `t${i}`)]);
    expect({ events: outbox.events, updates: outbox.updates }).toEqual({ events: 1, updates: 300 });
    // A lone update of a turn is a plain UPDATE.
    outbox.send(a.connection, update(status('alone')));
    turns[1]?.();
    expect(shape(a.sent).at(-1)).toEqual(['single:alone']);
  });

  it('sends each update at once, alone, to a framework that did not subscribe with batched_updates', () => {
    const turns: (() => void)[] = [];
    const outbox = new UpdateOutbox((flush) => turns.push(flush));
    const old = fakeConnection();
    outbox.send(old.connection, update(status('t1')));
    outbox.send(old.connection, update(status('t2')));
    expect(turns).toHaveLength(0);
    expect(shape(old.sent)).toEqual([['single:t1'], ['single:t2']]);
  });

  it('sends the queued updates before any other event, so the stream keeps the order', () => {
    const turns: (() => void)[] = [];
    const outbox = new UpdateOutbox((flush) => turns.push(flush));
    const a = fakeConnection();
    outbox.acceptBatches(a.connection);
    outbox.send(a.connection, update(status('t1', 'u-starting')));
    outbox.send(a.connection, update(status('t1', 'u-running')));
    outbox.send(a.connection, { event: { $case: 'offers', offers: { offers: [] } } });
    outbox.send(a.connection, update(status('t2')));
    turns[0]?.();
    expect(shape(a.sent)).toEqual([['t1', 't1'], ['offers'], ['single:t2']]);
    const first = a.sent[0]?.event;
    expect(first?.$case === 'updates' && first.updates.statuses.map((s) => s.uuid)).toEqual([
      'u-starting',
      'u-running',
    ]);
  });

  it('bounds each event in statuses and in bytes', () => {
    const turns: (() => void)[] = [];
    const outbox = new UpdateOutbox((flush) => turns.push(flush), { statuses: 2, bytes: 4000 });
    const a = fakeConnection();
    outbox.acceptBatches(a.connection);
    for (let i = 0; i < 5; i++) outbox.send(a.connection, update(status(`t${i}`)));
    turns[0]?.();
    expect(shape(a.sent)).toEqual([['t0', 't1'], ['t2', 't3'], ['single:t4']]);

    // A status of 1,000 characters of message is bounded at more than 3,000 bytes: one per event.
    const b = fakeConnection();
    outbox.acceptBatches(b.connection);
    for (let i = 0; i < 3; i++) outbox.send(b.connection, update(status(`b${i}`, `u${i}`, 'x'.repeat(1000))));
    turns.at(-1)?.();
    expect(shape(b.sent)).toEqual([['single:b0'], ['single:b1'], ['single:b2']]);
  });

  it("bounds a status's encoded size from above, also with multi-byte characters", () => {
    for (const message of ['', 'plain', 'é'.repeat(300), '\u{1F600}'.repeat(200), '\u20ac'.repeat(1000)]) {
      const s = { ...status('t-1', 'u-1', message), exitCode: -1, timestamp: Date.now() / 1000, reason: 'ré' };
      expect(statusBytesBound(s)).toBeGreaterThanOrEqual(TaskStatus.encode(s).finish().byteLength);
    }
  });

  it('sends nothing on a closed stream', () => {
    const turns: (() => void)[] = [];
    const outbox = new UpdateOutbox((flush) => turns.push(flush));
    const a = fakeConnection();
    outbox.acceptBatches(a.connection);
    outbox.send(a.connection, update(status('t1')));
    a.connection.markClosed();
    turns[0]?.();
    expect(a.sent).toEqual([]);
  });
});
