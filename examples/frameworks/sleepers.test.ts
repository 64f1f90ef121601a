/**
 * The sleepers example against a scripted fake master: how it packs offers, declines and
 * suppresses, retries a failed launch, and sums up how the tasks ended.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GalaxyError } from '../../core/errors.js';
import { StatusSource, TaskState, type Offer, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { Accept, SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { startFakeMaster, type FakeMaster, type FakeMasterOptions } from '../../frameworks/sdk/testing/fake-master.js';
import { runSleepers, type Sleepers } from './sleepers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeMaster(options: FakeMasterOptions = {}): Promise<FakeMaster> {
  const master = await startFakeMaster(options);
  cleanups.push(() => master.stop());
  return master;
}

function sleepers(master: FakeMaster, count: number): Sleepers {
  const run = runSleepers({ master: master.address, count });
  cleanups.push(() => run.driver.stop());
  return run;
}

/** An offer with room for `tasks` default sleepers (100 millicores, 32 MiB each). */
function offer(id: string, tasks: number): Offer {
  return {
    id,
    frameworkId: 'fw-fake-1',
    agentId: `agent-${id}`,
    hostname: 'host',
    resources: { cpus: 100 * tasks + 50, mem: 1 << 30, disk: 0, gpus: 0, ports: [] },
    attributes: [],
    pool: '',
    allowedHostPaths: [],
    heldVolumes: [],
  };
}

function ended(taskId: string, state: TaskState): TaskStatus {
  return {
    taskId,
    state,
    message: '',
    reason: '',
    source: StatusSource.SOURCE_AGENT,
    agentId: 'a',
    frameworkId: 'fw-fake-1',
    timestamp: 0,
    uuid: `u-${taskId}`,
  };
}

const accepts = (master: FakeMaster): Accept[] =>
  master.calls.items.flatMap((c) => (c.call?.$case === 'accept' ? [c.call.accept] : []));
const launched = (accept: Accept): string[] =>
  accept.operations.flatMap((op) => op.operation?.launch.taskInfos.map((t) => t.taskId) ?? []);
const isCase =
  (name: NonNullable<SchedulerCall['call']>['$case']) =>
  (call: SchedulerCall): boolean =>
    call.call?.$case === name;

describe('sleepers', () => {
  it('packs offers, declines what it cannot use, suppresses, and sums up the ends', async () => {
    const master = await fakeMaster();
    const { done } = sleepers(master, 3);
    await master.subscriptions.waitFor(() => true);
    master.send({ $case: 'offers', offers: { offers: [offer('o1', 2), offer('o2', 2)] } });
    await master.calls.waitFor(isCase('suppress'), 5000, 'SUPPRESS');
    expect(accepts(master).map((a) => ({ offers: a.offerIds, tasks: launched(a) }))).toEqual([
      { offers: ['o1'], tasks: ['sleeper-0', 'sleeper-1'] },
      { offers: ['o2'], tasks: ['sleeper-2'] },
    ]);
    const task = accepts(master)[0]?.operations[0]?.operation?.launch.taskInfos[0];
    expect(task).toMatchObject({ agentId: 'agent-o1', resources: { cpus: 100, mem: 32 * 1024 * 1024 } });
    expect(task?.command?.shell).toContain('$GALAXY_TASK_ID');

    master.send({ $case: 'offers', offers: { offers: [offer('o3', 4)] } });
    const decline = await master.calls.waitFor(isCase('decline'), 5000, 'DECLINE');
    expect(decline.call).toEqual({ $case: 'decline', decline: { offerIds: ['o3'], filters: { refuseSeconds: 5 } } });

    master.send({ $case: 'update', update: { status: ended('sleeper-0', TaskState.TASK_FINISHED) } });
    master.send({ $case: 'update', update: { status: ended('sleeper-0', TaskState.TASK_FINISHED) } }); // a retry
    master.send({ $case: 'update', update: { status: ended('sleeper-1', TaskState.TASK_RUNNING) } });
    master.send({ $case: 'update', update: { status: ended('sleeper-1', TaskState.TASK_FAILED) } });
    master.send({ $case: 'update', update: { status: ended('sleeper-2', TaskState.TASK_FINISHED) } });
    await expect(done).resolves.toEqual({ finished: 2, failed: 1, killed: 0, lost: 0 });
  });

  it('launches the tasks of a failed ACCEPT again on a later offer', async () => {
    const master = await fakeMaster({
      onCall: (call) => {
        if (call.call?.$case === 'accept' && call.call.accept.offerIds[0] === 'o1') {
          throw new GalaxyError('GALAXY_E_OFFER_UNKNOWN', 'offer o1 was rescinded');
        }
      },
    });
    sleepers(master, 2);
    await master.subscriptions.waitFor(() => true);
    master.send({ $case: 'offers', offers: { offers: [offer('o1', 2)] } });
    await master.calls.waitFor(isCase('accept'), 5000, 'the first ACCEPT');
    master.send({ $case: 'offers', offers: { offers: [offer('o2', 2)] } });
    await master.calls.waitFor(isCase('suppress'), 5000, 'SUPPRESS');
    expect(accepts(master).map(launched)).toEqual([
      ['sleeper-0', 'sleeper-1'],
      ['sleeper-0', 'sleeper-1'],
    ]);
  });

  it('fails `done` when the master refuses the framework', async () => {
    const master = await fakeMaster({
      onSubscribe: () => {
        throw new GalaxyError('GALAXY_E_FRAMEWORK_INVALID', 'role is not allowed');
      },
    });
    await expect(sleepers(master, 1).done).rejects.toMatchObject({ code: 'GALAXY_E_FRAMEWORK_INVALID' });
  });

  it('refuses a count that is not a positive whole number', () => {
    expect(() => runSleepers({ master: '127.0.0.1:1', count: 0 })).toThrow(/GALAXY_E_INVALID_ARGUMENT/);
  });
});
