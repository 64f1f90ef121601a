import { describe, expect, it } from 'vitest';
import { ASK_AGAIN_MS, ASK_BATCH, UnknownTasks } from './unknown-tasks.js';

describe('UnknownTasks', () => {
  it('asks at once, not again while an ask is in flight, and again a while after it was answered', () => {
    const tasks = new UnknownTasks();
    tasks.add('t1', 'a1');
    const due = tasks.due(1000);
    expect(due).toEqual([{ taskId: 't1', agentId: 'a1' }]);
    expect(tasks.due(1_000_000)).toEqual([]); // in flight
    tasks.asked(due, 2000);
    expect(tasks.due(2000 + ASK_AGAIN_MS - 1)).toEqual([]);
    expect(tasks.due(2000 + ASK_AGAIN_MS)).toEqual(due);
  });

  it('forgets a task the master spoke of, and asks about every other one again after a re-subscription', () => {
    const tasks = new UnknownTasks();
    tasks.add('t1', 'a1');
    tasks.add('t2', 'a2');
    const due = tasks.due(0);
    tasks.asked(due, 0);
    tasks.heard('t1');
    expect(tasks.has('t1')).toBe(false);
    tasks.askAllAgain();
    expect(tasks.due(1)).toEqual([{ taskId: 't2', agentId: 'a2' }]);
  });

  it('names at most one batch of tasks per ask', () => {
    const tasks = new UnknownTasks();
    for (let i = 0; i < ASK_BATCH + 5; i += 1) tasks.add(`t${i}`, 'a1');
    expect(tasks.due(0)).toHaveLength(ASK_BATCH);
    expect(tasks.due(0)).toHaveLength(5);
  });
});
