/** What a replay measures: task ids to groups, delays in trace time, samples, percentiles. */
import { describe, expect, it } from 'vitest';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import { percentile, ReplayMeasure, taskOrigin } from './replay-measure.js';
import type { TaskGroup } from './trace/workload.js';

function group(name: string, tasks: number, cpus = 1000, mem = 1024): TaskGroup {
  return {
    name,
    traceJob: name,
    submitS: 600,
    band: 'batch',
    cpus,
    mem,
    gpus: 0,
    durationS: 10,
    exitCode: 0,
    tasks: Array.from({ length: tasks }, (_, i) => i),
    differentMachine: false,
    traceDelaysS: [],
    traceFirstDelaysS: [],
  };
}

describe('taskOrigin', () => {
  it('reads batch and AppMaster task ids', () => {
    expect(taskOrigin('g123-0.4.1')).toEqual({ group: 'g123-0', index: 4 });
    expect(taskOrigin('g123-0.9f3c01ab.4.1')).toEqual({ group: 'g123-0', index: 4 });
    expect(taskOrigin('g123-2-7.a1b2c3')).toEqual({ group: 'g123-2', index: 7 });
    expect(taskOrigin('something else')).toBeUndefined();
  });
});

describe('ReplayMeasure', () => {
  it('measures first runs in trace time, utilization, pending, placements and kills', () => {
    const m = new ReplayMeasure([group('a', 2), group('b', 1, 2000)], { cpus: 10_000, mem: 1 << 20 }, 10, 0, 600);
    m.submitted('a', 1000);
    m.submitted('b', 1500);
    m.taskEvents([
      ['a.0.0', 'r', 1200, TaskState.TASK_RUNNING],
      ['b.0.0', 'r', 1600, TaskState.TASK_RUNNING],
      ['x.0.0', 'r', 1600, TaskState.TASK_RUNNING],
    ]);
    const first = m.sample(2000);
    expect(first).toMatchObject({ wallS: 2, traceS: 620, pending: 1, running: 2, placements: 2, kills: 0 });
    expect(first.cpuUtil).toBeCloseTo(0.3);
    m.taskEvents([
      ['a.0.0', 'e', 2100, TaskState.TASK_FAILED],
      ['a.0.1', 'r', 2500, TaskState.TASK_RUNNING],
      ['a.1.0', 'r', 2600, TaskState.TASK_RUNNING],
      ['b.0.0', 'e', 2700, TaskState.TASK_KILLED],
    ]);
    expect(m.sample(3000)).toMatchObject({ pending: 0, running: 2, placements: 2, kills: 1 });
    // a.0 first ran 200 ms after its submit, a.1 1600 ms, b.0 100 ms: × 10 in trace seconds.
    expect(m.pendingDelays().sort((x, y) => x - y)).toEqual([1, 2, 16]);
    expect(m.progress()).toEqual({ submitted: 3, started: 3, running: 2 });
  });

  it('says when every task of a group has run', () => {
    const m = new ReplayMeasure([group('a', 2)], { cpus: 10_000, mem: 1 << 20 }, 10, 0, 600);
    m.submitted('a', 1000);
    expect(m.ran('a')).toBe(false);
    m.taskEvents([['a.0.0', 'r', 1200, TaskState.TASK_RUNNING]]);
    expect(m.ran('a')).toBe(false);
    m.taskEvents([['a.1.0', 'r', 1300, TaskState.TASK_RUNNING]]);
    expect(m.ran('a')).toBe(true);
    expect(m.ran('unknown')).toBe(false);
  });
});

describe('percentile', () => {
  it('is the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 90)).toBe(90);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
  });
});
