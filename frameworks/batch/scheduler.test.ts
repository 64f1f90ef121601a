/**
 * The batch scheduler's offer cycle against a recording driver: a task's end asks for offers
 * (REVIVE after a SUPPRESS) only when the job has something left to launch. A REVIVE per end of a
 * job whose other indexes all run was an offer, a DECLINE and a SUPPRESS more per task.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import { Offer, TaskState, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import { BatchScheduler } from './scheduler.js';

/** The calls the scheduler made, by name, in order. */
type Calls = string[];

/** A driver that records the calls the offer cycle makes and accepts them all. */
function recordingDriver(calls: Calls): SchedulerDriver {
  const record = (name: string) => (): Promise<void> => {
    calls.push(name);
    return Promise.resolve();
  };
  const driver: Partial<SchedulerDriver> = {
    frameworkId: 'fw',
    roles: [],
    launch: record('launch'),
    decline: record('decline'),
    revive: record('revive'),
    suppress: record('suppress'),
    acknowledge: record('acknowledge'),
    kill: record('kill'),
    reconcile: record('reconcile'),
    updateFramework: record('updateFramework'),
    publishEvents: () => Promise.resolve(),
  };
  return driver as SchedulerDriver;
}

function offer(id: string, cpus: number): Offer {
  return Offer.fromPartial({
    id,
    frameworkId: 'fw',
    agentId: 'agent-1',
    pool: 'default',
    resources: { cpus, mem: 1024 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
  });
}

function finished(taskId: string, uuid: string): TaskStatus {
  return TaskStatus.fromPartial({
    taskId,
    frameworkId: 'fw',
    agentId: 'agent-1',
    state: TaskState.TASK_FINISHED,
    uuid,
  });
}

let scheduler: BatchScheduler | undefined;
afterEach(async () => {
  await scheduler?.detach();
  scheduler = undefined;
});

/** A scheduler with one job of `completions` at `parallelism`, its tasks of 1 cpu, and the tasks of one offer of 2 cpus. */
async function started(completions: number, parallelism: number): Promise<{ calls: Calls; tasks: string[] }> {
  const calls: Calls = [];
  const driver = recordingDriver(calls);
  scheduler = new BatchScheduler(createLogger('test', 'silent'));
  scheduler.attach(driver);
  await scheduler.submit(
    BatchJobSpec.fromPartial({
      name: 'batchfast-revive',
      command: 'true',
      completions,
      parallelism,
      resources: { cpus: 1000, mem: 16 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
    }),
  );
  scheduler.offers(driver, [offer('o1', 2000)]);
  const job = scheduler.get('batchfast-revive');
  const tasks = [...(job?.running.keys() ?? [])];
  expect(tasks).toHaveLength(2);
  // Everything launchable is launched (the ACCEPT goes out off the handler queue): offers stop.
  await expect.poll(() => calls.includes('launch')).toBe(true);
  expect(calls.filter((c) => c === 'launch' || c === 'suppress').sort()).toEqual(['launch', 'suppress']);
  calls.length = 0;
  return { calls, tasks: tasks };
}

describe('BatchScheduler offer cycle', () => {
  it('does not revive offers when a task ends and the job has nothing left to launch', async () => {
    const { calls, tasks } = await started(2, 2);
    const [first = ''] = tasks;
    scheduler?.update(recordingDriver(calls), finished(first, 'u1'));
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual(['acknowledge']);
  });

  it('revives offers when a task ends and frees room for an index still to run', async () => {
    const { calls, tasks } = await started(3, 2);
    const [first = ''] = tasks;
    scheduler?.update(recordingDriver(calls), finished(first, 'u1'));
    await new Promise((r) => setImmediate(r));
    expect(calls.sort()).toEqual(['acknowledge', 'revive']);
  });
});
