/**
 * The cron planner, with an injected clock and real schedules: due runs, superseded and missed
 * ones, starting deadlines, the three concurrency policies, suspension, time zones and daylight
 * saving changes.
 */
import { describe, expect, it } from 'vitest';
import { planCron, MAX_COUNTED_MISSES, type CronState } from './plan.js';
import { cronTimes } from './schedule.js';

const at = (iso: string): number => Date.parse(iso);
const state = (fields: Partial<CronState>): CronState => ({
  concurrencyPolicy: 'Allow',
  startingDeadlineS: 0,
  suspended: false,
  lastScheduledAt: at('2025-01-01T00:00:00Z'),
  active: 0,
  ...fields,
});
const everyFiveMinutes = cronTimes('*/5 * * * *');

describe('planCron', () => {
  it('is idle until the next time, then starts that run', () => {
    const s = state({});
    expect(planCron(s, everyFiveMinutes, at('2025-01-01T00:04:59Z'))).toEqual({
      kind: 'idle',
      wakeAt: at('2025-01-01T00:05:00Z'),
    });
    expect(planCron(s, everyFiveMinutes, at('2025-01-01T00:05:00Z'))).toEqual({
      kind: 'start',
      scheduledAt: at('2025-01-01T00:05:00Z'),
      replace: false,
      superseded: 0,
    });
    // Once handled, the same time is not due again.
    const handled = state({ lastScheduledAt: at('2025-01-01T00:05:00Z') });
    expect(planCron(handled, everyFiveMinutes, at('2025-01-01T00:05:01Z')).kind).toBe('idle');
  });

  it('after a long absence keeps only the latest due run, the earlier ones superseded', () => {
    const decision = planCron(state({}), everyFiveMinutes, at('2025-01-01T01:02:00Z'));
    expect(decision).toEqual({
      kind: 'start',
      scheduledAt: at('2025-01-01T01:00:00Z'),
      replace: false,
      superseded: 11,
    });
    const week = planCron(state({}), everyFiveMinutes, at('2025-01-08T00:00:00Z'));
    expect(week).toMatchObject({ kind: 'start', superseded: MAX_COUNTED_MISSES });
  });

  it('runs a missed run within its starting deadline and misses it past the deadline', () => {
    const s = state({ startingDeadlineS: 120 });
    // The framework was down from 00:04 to 00:06:30: the 00:05 run is 90 s late, within 120 s.
    expect(planCron(s, everyFiveMinutes, at('2025-01-01T00:06:30Z'))).toMatchObject({
      kind: 'start',
      scheduledAt: at('2025-01-01T00:05:00Z'),
    });
    // Back only at 00:07:30: 150 s late, missed.
    expect(planCron(s, everyFiveMinutes, at('2025-01-01T00:07:30Z'))).toEqual({
      kind: 'miss',
      scheduledAt: at('2025-01-01T00:05:00Z'),
      superseded: 0,
    });
    // Without a deadline it starts however late.
    expect(planCron(state({}), everyFiveMinutes, at('2025-01-01T00:09:59Z')).kind).toBe('start');
  });

  it('follows the concurrency policy while an earlier run is active', () => {
    const now = at('2025-01-01T00:05:01Z');
    expect(planCron(state({ active: 1 }), everyFiveMinutes, now)).toMatchObject({ kind: 'start', replace: false });
    expect(planCron(state({ active: 1, concurrencyPolicy: 'Replace' }), everyFiveMinutes, now)).toMatchObject({
      kind: 'start',
      replace: true,
    });
    expect(planCron(state({ active: 0, concurrencyPolicy: 'Replace' }), everyFiveMinutes, now)).toMatchObject({
      kind: 'start',
      replace: false,
    });
    const forbid = state({ active: 1, concurrencyPolicy: 'Forbid', startingDeadlineS: 60 });
    expect(planCron(forbid, everyFiveMinutes, now)).toEqual({
      kind: 'wait',
      scheduledAt: at('2025-01-01T00:05:00Z'),
      superseded: 0,
    });
    // The earlier run ends within the deadline: the waiting run starts, late.
    expect(planCron({ ...forbid, active: 0 }, everyFiveMinutes, at('2025-01-01T00:05:50Z')).kind).toBe('start');
    // It ends past the deadline: the waiting run is missed.
    expect(planCron({ ...forbid, active: 0 }, everyFiveMinutes, at('2025-01-01T00:06:30Z')).kind).toBe('miss');
    // Still running at the next time: the newer run waits instead, the older one superseded.
    expect(planCron(forbid, everyFiveMinutes, at('2025-01-01T00:10:10Z'))).toEqual({
      kind: 'wait',
      scheduledAt: at('2025-01-01T00:10:00Z'),
      superseded: 1,
    });
  });

  it('starts nothing while suspended; on resume the latest missed run is due (within its deadline)', () => {
    expect(planCron(state({ suspended: true }), everyFiveMinutes, at('2025-01-01T03:00:00Z'))).toEqual({
      kind: 'idle',
      wakeAt: undefined,
    });
    expect(planCron(state({ startingDeadlineS: 30 }), everyFiveMinutes, at('2025-01-01T03:00:10Z'))).toMatchObject({
      kind: 'start',
      scheduledAt: at('2025-01-01T03:00:00Z'),
    });
    expect(planCron(state({ startingDeadlineS: 30 }), everyFiveMinutes, at('2025-01-01T03:01:00Z')).kind).toBe('miss');
  });

  it('reads the expression in its time zone', () => {
    const nine = cronTimes('0 9 * * *', 'America/New_York');
    const s = state({ lastScheduledAt: at('2025-01-15T00:00:00Z') });
    // 09:00 in New York in January is 14:00 UTC.
    expect(planCron(s, nine, at('2025-01-15T13:59:59Z'))).toEqual({ kind: 'idle', wakeAt: at('2025-01-15T14:00:00Z') });
    expect(planCron(s, nine, at('2025-01-15T14:00:00Z'))).toMatchObject({ kind: 'start' });
    // In July (daylight saving time) it is 13:00 UTC.
    expect(
      planCron(state({ lastScheduledAt: at('2025-07-15T00:00:00Z') }), nine, at('2025-07-15T13:00:00Z')),
    ).toMatchObject({ kind: 'start', scheduledAt: at('2025-07-15T13:00:00Z') });
  });

  it('runs a fixed time once across daylight saving changes, an interval by real time', () => {
    const berlin = cronTimes('30 2 * * *', 'Europe/Berlin');
    // Spring forward (2025-03-30, 02:00 → 03:00): 02:30 does not exist; the run is at 03:00 CEST, once.
    const spring = state({ lastScheduledAt: at('2025-03-29T12:00:00Z') });
    expect(planCron(spring, berlin, at('2025-03-30T00:59:59Z')).kind).toBe('idle');
    expect(planCron(spring, berlin, at('2025-03-30T01:00:00Z'))).toMatchObject({
      kind: 'start',
      scheduledAt: at('2025-03-30T01:00:00Z'),
    });
    expect(berlin.next(at('2025-03-30T01:00:00Z'))).toBe(at('2025-03-31T00:30:00Z'));
    // Fall back (2025-10-26, 03:00 → 02:00): 02:30 happens twice; it runs the first time only.
    expect(berlin.next(at('2025-10-25T12:00:00Z'))).toBe(at('2025-10-26T00:30:00Z'));
    const fall = state({ lastScheduledAt: at('2025-10-26T00:30:00Z') });
    expect(planCron(fall, berlin, at('2025-10-26T01:30:00Z'))).toEqual({
      kind: 'idle',
      wakeAt: at('2025-10-27T01:30:00Z'),
    });
    // Every 30 minutes keeps counting real time through the repeated hour: four runs from 00:00 to 01:30 UTC.
    const halfHourly = cronTimes('*/30 * * * *', 'Europe/Berlin');
    const runs: number[] = [];
    for (let t = halfHourly.next(at('2025-10-25T23:59:00Z')); t !== undefined && t <= at('2025-10-26T01:30:00Z');) {
      runs.push(t);
      t = halfHourly.next(t);
    }
    expect(runs.map((t) => new Date(t).toISOString())).toEqual([
      '2025-10-26T00:00:00.000Z',
      '2025-10-26T00:30:00.000Z',
      '2025-10-26T01:00:00.000Z',
      '2025-10-26T01:30:00.000Z',
    ]);
    expect(halfHourly.latest(at('2025-10-26T01:10:00Z'))).toBe(at('2025-10-26T01:00:00Z'));
  });

  it('reads six fields as seconds first', () => {
    const everyThree = cronTimes('*/3 * * * * *');
    expect(everyThree.next(at('2025-01-01T00:00:01Z'))).toBe(at('2025-01-01T00:00:03Z'));
    expect(everyThree.latest(at('2025-01-01T00:00:03Z'))).toBe(at('2025-01-01T00:00:03Z'));
    expect(everyThree.latest(at('2025-01-01T00:00:05.999Z'))).toBe(at('2025-01-01T00:00:03Z'));
  });
});
