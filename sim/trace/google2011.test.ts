/** google2011 task events as task groups, and Borg's own pending delays. */
import { describe, expect, it } from 'vitest';
import { googleWorkload, roundDuration } from './google2011.js';
import { bandOfPriority, taskCount, traceDelays } from './workload.js';

/** One task_events row: time (s), job, index, event, priority, cpu, mem, different-machine. */
function row(
  t: number,
  job: string,
  index: number,
  event: number,
  priority = 0,
  cpu = 0.0625,
  mem = 0.0159,
  dm = 0,
): string {
  return [Math.round(t * 1e6), '', job, index, '', event, 'user', 1, priority, cpu, mem, 0, dm].join(',');
}

describe('googleWorkload', () => {
  const text = [
    // job 1: two tasks arriving together, same request, 100 s each: one group of two.
    row(600, '1', 0, 0, 9),
    row(600.5, '1', 1, 0, 9),
    row(602, '1', 0, 1, 9),
    row(603, '1', 1, 1, 9),
    row(702, '1', 0, 4, 9),
    row(703, '1', 1, 4, 9),
    // job 2: one task that fails once, is resubmitted, and fails again: its last attempt runs 50 s.
    row(610, '2', 0, 0, 4, 0.5, 0.25, 1),
    row(611, '2', 0, 1, 4, 0.5, 0.25, 1),
    row(620, '2', 0, 3, 4, 0.5, 0.25, 1),
    row(621, '2', 0, 0, 4, 0.5, 0.25, 1),
    row(625, '2', 0, 1, 4, 0.5, 0.25, 1),
    row(675, '2', 0, 3, 4, 0.5, 0.25, 1),
    // job 3: submitted, never scheduled: not replayable.
    row(630, '3', 0, 0, 0),
    '',
  ].join('\n');
  const workload = googleWorkload(text, 'test');

  it('groups identical tasks that arrive together, in arrival order', () => {
    expect(workload.groups.map((g) => g.name)).toEqual(['g1-0', 'g2-0']);
    expect(taskCount(workload)).toBe(3);
    const [services, batch] = workload.groups;
    expect(services).toMatchObject({ band: 'production', tasks: [0, 1], durationS: 100, exitCode: 0, submitS: 600 });
    expect(services?.cpus).toBe(4000);
    expect(batch).toMatchObject({ band: 'batch', durationS: 50, exitCode: 1, differentMachine: true, cpus: 32_000 });
  });

  it("keeps Borg's delays: every schedule after its submit, and first schedules", () => {
    const delays = traceDelays(workload);
    expect([...delays.all].sort((a, b) => a - b)).toEqual([1, 2, 2.5, 4]);
    expect([...delays.first].sort((a, b) => a - b)).toEqual([1, 2, 2.5]);
  });

  it('refuses a malformed row, naming its line', () => {
    expect(() => googleWorkload('1,2,3', 'bad.csv')).toThrow(/bad.csv line 1/);
  });
});

describe('bands and durations', () => {
  it('maps priorities to bands as the Borg paper does', () => {
    expect([0, 1, 2, 8, 9, 10, 11].map(bandOfPriority)).toEqual([
      'best-effort',
      'best-effort',
      'batch',
      'batch',
      'production',
      'production',
      'monitoring',
    ]);
  });
  it('rounds durations to two significant digits, at least 1 s', () => {
    expect([0, 0.4, 12.3, 123, 1666].map(roundDuration)).toEqual([1, 1, 12, 120, 1700]);
  });
});
