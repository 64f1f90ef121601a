import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';
import { EVENT_POLL_MS, pollingEventFeed } from './event-feed.js';

function event(time: number, reason: string): MasterEvent {
  return { time, kind: 'preemption', reason };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pollingEventFeed: today’s ListEvents followed by asking again', () => {
  it('delivers each event once, also when the newest second is listed again, and stops when told', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const log: MasterEvent[] = [];
    const asked: number[] = [];
    const feed = pollingEventFeed({
      listEvents: (request) => {
        asked.push(request.sinceS);
        return Promise.resolve({ events: log.filter((e) => e.time >= request.sinceS) });
      },
    });
    const seen: string[] = [];
    const stop = feed.follow(
      (e) => seen.push(e.reason),
      (error) => {
        throw error;
      },
    );
    log.push(event(1001, 'a'), event(1001, 'b'));
    await vi.advanceTimersByTimeAsync(EVENT_POLL_MS);
    log.push(event(1001, 'c'), event(1002, 'd'));
    await vi.advanceTimersByTimeAsync(EVENT_POLL_MS);
    await vi.advanceTimersByTimeAsync(EVENT_POLL_MS);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    // Each poll asks from the newest second it has seen, not from the beginning.
    expect(asked).toEqual([1000, 1001, 1002]);
    stop();
    log.push(event(1003, 'e'));
    await vi.advanceTimersByTimeAsync(EVENT_POLL_MS * 3);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  it('reports a refusal once and stops asking', async () => {
    vi.useFakeTimers();
    let calls = 0;
    const feed = pollingEventFeed({
      listEvents: () => {
        calls++;
        return Promise.reject(new Error('GALAXY_E_PERMISSION_DENIED: no'));
      },
    });
    const errors: unknown[] = [];
    feed.follow(
      () => undefined,
      (error) => errors.push(error),
    );
    await vi.advanceTimersByTimeAsync(EVENT_POLL_MS * 5);
    expect(errors).toHaveLength(1);
    expect(calls).toBe(1);
  });
});
