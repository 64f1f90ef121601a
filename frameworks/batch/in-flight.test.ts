/**
 * Tasks in flight and the reconciliations asked of the master: all of them after a subscription,
 * in bounded batches; periodically those the master has been silent about, not more often than
 * every 5 s; at once a task whose launch outcome is unknown.
 */
import { describe, expect, it } from 'vitest';
import { InFlightTasks, RECONCILE_BATCH } from './in-flight.js';

describe('InFlightTasks', () => {
  it('knows each task’s job until it is forgotten', () => {
    const tasks = new InFlightTasks();
    tasks.add('t1', 'job-a', 'agent-1', 0);
    expect(tasks.jobOf('t1')).toBe('job-a');
    tasks.forget('t1');
    expect(tasks.jobOf('t1')).toBeUndefined();
    expect(tasks.batches()).toEqual([]);
  });

  it('asks about every task after a subscription, in batches of at most RECONCILE_BATCH', () => {
    const tasks = new InFlightTasks();
    for (let i = 0; i < RECONCILE_BATCH + 5; i++) tasks.add(`t${i}`, 'job', `agent-${i % 3}`, 1000);
    const batches = tasks.batches();
    expect(batches.map((b) => b.length)).toEqual([RECONCILE_BATCH, 5]);
    expect(batches[1]?.[4]).toEqual({
      taskId: `t${RECONCILE_BATCH + 4}`,
      agentId: `agent-${(RECONCILE_BATCH + 4) % 3}`,
    });
  });

  it('asks about silent tasks at most every 5 s, and at once about a launch whose outcome is unknown', () => {
    const tasks = new InFlightTasks();
    tasks.add('quiet', 'job', 'agent-1', 0);
    tasks.add('chatty', 'job', 'agent-1', 0);
    expect(tasks.silent(20_000).map((t) => t.taskId)).toEqual(['quiet', 'chatty']);
    tasks.heard('chatty', 21_000);
    expect(tasks.silent(22_000), 'within 5 s of the last look').toEqual([]);
    expect(tasks.silent(25_000).map((t) => t.taskId)).toEqual(['quiet']);
    tasks.heard('quiet', 25_500);
    tasks.markSilent('chatty');
    expect(tasks.silent(26_000)).toEqual([{ taskId: 'chatty', agentId: 'agent-1' }]);
  });

  it('asks about a launch whose outcome is unknown before any number of long-silent running tasks', () => {
    const tasks = new InFlightTasks();
    // A cell of long-running tasks: all silent once they run.
    for (let i = 0; i < 3 * RECONCILE_BATCH; i++) tasks.add(`running-${i}`, 'job', `agent-${i}`, 1000);
    tasks.add('launched-late', 'job', 'agent-x', 1000);
    tasks.markSilent('launched-late');
    const first = tasks.silent(60_000);
    expect(first).toHaveLength(RECONCILE_BATCH);
    expect(first[0]).toEqual({ taskId: 'launched-late', agentId: 'agent-x' });
    // Asked again at each look until the master speaks of it; then the queue goes on.
    expect(tasks.silent(65_000)[0]?.taskId).toBe('launched-late');
    tasks.heard('launched-late', 66_000);
    expect(tasks.silent(70_000).map((t) => t.taskId)).not.toContain('launched-late');
  });
});
