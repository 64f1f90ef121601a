/**
 * The event log and its coordinator store, without a master:
 * - retention by count and by age; ids increase;
 * - a watch replays what it missed after an id, then follows; a resumed watch repeats nothing;
 * - the store writes in batches — one coordinator write per flush, however many events — and a
 *   new log restored from it (a failover) has every flushed event and continues the ids above them;
 * - whole expired segments are deleted from the coordinator.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { createLogger } from '../../core/logger.js';
import type { MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';
import { EventLog } from './log.js';
import { CoordinatorEventStore, EVENTS_PREFIX, SEGMENT_EVENTS } from './store.js';

const log = createLogger('test', 'silent');

/** A coordinator that counts its writes. */
function countingCoordinator(): { coordinator: MemoryCoordinator; puts: () => number } {
  const coordinator = new MemoryCoordinator();
  let puts = 0;
  const put = coordinator.put.bind(coordinator);
  coordinator.put = (key, value, options) => {
    puts += 1;
    return put(key, value, options);
  };
  return { coordinator, puts: () => puts };
}

describe('EventLog', () => {
  it('keeps the newest maxEvents and forgets events older than maxAgeMs', () => {
    let now = 1_000_000;
    const events = new EventLog({ maxEvents: 3, maxAgeMs: 10_000 }, () => now);
    for (let i = 1; i <= 5; i++) events.append({ kind: 'job.updated', message: `e${i}` });
    expect(events.query().map((e) => e.message)).toEqual(['e3', 'e4', 'e5']);
    const ids = events.query().map((e) => e.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    now += 5_000;
    events.append({ kind: 'job.updated', message: 'e6' });
    now += 6_000;
    expect(events.query().map((e) => e.message)).toEqual(['e6']);
  });

  it('filters by kind family, job, agent, user and time, and the newest n', () => {
    const events = new EventLog();
    events.append({ kind: 'task.running', job: 'web', agentId: 'a1', user: 'alice' });
    events.append({ kind: 'task.failed', job: 'db', agentId: 'a2', user: 'bob' });
    events.append({ kind: 'agent.registered', agentId: 'a1' });
    expect(events.query({ kind: 'task' })).toHaveLength(2);
    expect(events.query({ job: 'web' })).toHaveLength(1);
    expect(events.query({ agentId: 'a1' })).toHaveLength(2);
    expect(events.query({ user: 'bob' }).map((e) => e.kind)).toEqual(['task.failed']);
    expect(events.query({}, 1).map((e) => e.kind)).toEqual(['agent.registered']);
  });

  it('replays a watch from an id, then follows, so a resumed watch repeats nothing', () => {
    const events = new EventLog();
    const first = events.append({ kind: 'job.submitted', job: 'web' });
    events.append({ kind: 'job.updated', job: 'web' });
    const seen: MasterEvent[] = [];
    const stop = events.watch({ job: 'web' }, first.id, (e) => seen.push(e));
    events.append({ kind: 'job.paused', job: 'web' });
    events.append({ kind: 'job.paused', job: 'db' });
    stop();
    events.append({ kind: 'job.continued', job: 'web' });
    expect(seen.map((e) => e.kind)).toEqual(['job.updated', 'job.paused']);
  });
});

describe('CoordinatorEventStore', () => {
  it('writes many events in one coordinator write, and a restored log has them and continues above them', async () => {
    const { coordinator, puts } = countingCoordinator();
    const store = new CoordinatorEventStore(coordinator, log, 60_000);
    const leader = new EventLog();
    leader.restore(await store.load(), store);
    for (let i = 0; i < 200; i++) leader.append({ kind: 'task.running', taskId: `t${i}` });
    expect(puts()).toBe(0); // appending never writes
    await leader.flush();
    expect(puts()).toBe(1);
    await leader.close();

    const next = new EventLog();
    const nextStore = new CoordinatorEventStore(coordinator, log, 60_000);
    next.restore(await nextStore.load(), nextStore);
    expect(next.query().map((e) => e.taskId)).toEqual(leader.query().map((e) => e.taskId));
    const later = next.append({ kind: 'agent.lost' });
    expect(later.id).toBeGreaterThan(Math.max(...leader.query().map((e) => e.id)));
    await next.close();
  });

  it('splits into segments and deletes whole segments past the retention', async () => {
    const { coordinator } = countingCoordinator();
    const store = new CoordinatorEventStore(coordinator, log, 60_000);
    const events = new EventLog({ maxEvents: SEGMENT_EVENTS, maxAgeMs: 3600_000 });
    events.restore([], store);
    for (let i = 0; i < SEGMENT_EVENTS * 3; i++) events.append({ kind: 'task.running' });
    await events.flush();
    await new Promise((resolve) => setTimeout(resolve, 10)); // the deletes
    const segments = await coordinator.list(EVENTS_PREFIX);
    expect(segments.length).toBeLessThanOrEqual(2);
    expect(events.size).toBe(SEGMENT_EVENTS);
    await events.close();
  });
});
