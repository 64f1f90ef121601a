/**
 * The scheduler driver against a scripted fake master over loopback gRPC: what it sends, what it
 * delivers, and how it heals a broken connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GalaxyError } from '../../core/errors.js';
import { StatusSource, TaskState, type Offer, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { GrpcSchedulerDriver, type DriverOptions } from './scheduler-driver.js';
import type { Scheduler, SubscribedInfo } from './scheduler.js';
import { startFakeMaster, type FakeMaster, type FakeMasterOptions } from './testing/fake-master.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function fakeMaster(options: FakeMasterOptions = {}): Promise<FakeMaster> {
  const master = await startFakeMaster(options);
  cleanups.push(() => master.stop());
  return master;
}

function driver(master: string, scheduler: Scheduler = {}, options: Partial<DriverOptions> = {}): GrpcSchedulerDriver {
  const d = new GrpcSchedulerDriver({
    master,
    framework: { name: 'sdk-test', failoverTimeoutS: 30 },
    scheduler,
    reconnect: { initialMs: 20, maxMs: 100 },
    ...options,
  });
  cleanups.push(() => d.stop());
  return d;
}

const offer: Offer = {
  id: 'o1',
  frameworkId: 'fw-fake-1',
  agentId: 'a1',
  hostname: 'host1',
  resources: { cpus: 1000, mem: 1 << 30, disk: 0, gpus: 0, ports: [] },
  attributes: [],
  pool: '',
  allowedHostPaths: [],
  heldVolumes: [],
};

function status(uuid: string, taskId = 't1'): TaskStatus {
  return {
    taskId,
    state: TaskState.TASK_RUNNING,
    message: '',
    reason: uuid === '' ? 'reconciliation' : '',
    source: StatusSource.SOURCE_AGENT,
    agentId: 'a1',
    frameworkId: 'fw-fake-1',
    timestamp: 0,
    uuid,
  };
}

const isCase =
  (name: NonNullable<SchedulerCall['call']>['$case']) =>
  (call: SchedulerCall): boolean =>
    call.call?.$case === name;

describe('GrpcSchedulerDriver', () => {
  it('subscribes, hands SUBSCRIBED to the scheduler, then reconciles implicitly', async () => {
    const master = await fakeMaster();
    const seen: SubscribedInfo[] = [];
    const d = driver(master.address, { subscribed: (_d, info) => void seen.push(info) });
    await expect(d.start()).resolves.toBe('fw-fake-1');
    expect(d.frameworkId).toBe('fw-fake-1');
    expect(seen).toEqual([
      { frameworkId: 'fw-fake-1', heartbeatIntervalS: 0.1, masterId: 'fake', resubscribed: false },
    ]);
    // No role named: the master runs it in its owner's role (an admin's: "*").
    expect(master.subscriptions.items[0]).toMatchObject({
      id: '',
      name: 'sdk-test',
      role: '',
      roles: [],
      failoverTimeoutS: 30,
    });
    const reconcile = await master.calls.waitFor(isCase('reconcile'));
    expect(reconcile).toEqual({ frameworkId: 'fw-fake-1', call: { $case: 'reconcile', reconcile: { tasks: [] } } });
  });

  it('delivers offers and rescinds, and sends ACCEPT and DECLINE as asked', async () => {
    const master = await fakeMaster();
    const offers: Offer[] = [];
    const rescinded: string[] = [];
    const d = driver(
      master.address,
      { offers: (_d, o) => void offers.push(...o), rescind: (_d, id) => void rescinded.push(id) },
      { reconcileOnSubscribe: false },
    );
    await d.start();
    master.send({ $case: 'offers', offers: { offers: [offer] } });
    master.send({ $case: 'rescind', rescind: { offerId: 'o1' } });
    await eventually(() => rescinded.length === 1, 5000, 'the rescind');
    expect(offers).toEqual([offer]);

    const task = {
      taskId: 't1',
      name: 't1',
      agentId: 'a1',
      labels: [],
      killGraceS: 1,
      volumes: [],
      command: { shell: 'true', argv: [], env: {}, user: '' },
    };
    await d.launch('o1', [task], { refuseSeconds: 2 });
    await d.decline(['o2', 'o3'], { refuseSeconds: 5 });
    await d.suppress();
    await d.revive();
    await d.kill('t1', 'a1');
    await d.reconcile([{ taskId: 't1' }]);
    expect(master.calls.items.map((c) => c.call)).toEqual([
      {
        $case: 'accept',
        accept: {
          offerIds: ['o1'],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task] } } }],
          filters: { refuseSeconds: 2 },
        },
      },
      { $case: 'decline', decline: { offerIds: ['o2', 'o3'], filters: { refuseSeconds: 5 } } },
      { $case: 'suppress', suppress: { roles: [] } },
      { $case: 'revive', revive: { roles: [] } },
      { $case: 'kill', kill: { taskId: 't1', agentId: 'a1' } },
      { $case: 'reconcile', reconcile: { tasks: [{ taskId: 't1', agentId: '' }] } },
    ]);
    expect(master.calls.items.every((c) => c.frameworkId === 'fw-fake-1')).toBe(true);
  });

  it("rejects a call with the master's coded error", async () => {
    const master = await fakeMaster({
      onCall: (call) => {
        if (call.call?.$case === 'decline') throw new GalaxyError('GALAXY_E_OFFER_UNKNOWN', 'offer o9 is unknown');
      },
    });
    const d = driver(master.address);
    await d.start();
    const error: unknown = await d.decline(['o9']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GalaxyError);
    expect(error).toMatchObject({ code: 'GALAXY_E_OFFER_UNKNOWN', detail: 'offer o9 is unknown' });
  });

  it('rejects calls with GALAXY_E_UNAVAILABLE when the master cannot be reached', async () => {
    const master = await fakeMaster();
    const d = driver(master.address);
    await d.start();
    await master.stop();
    await expect(d.revive()).rejects.toMatchObject({ code: 'GALAXY_E_UNAVAILABLE' });
  });

  it('acknowledges updates that carry a uuid after the handler returns, and no others', async () => {
    const master = await fakeMaster();
    const order: string[] = [];
    const d = driver(master.address, {
      update: async (_d, s) => {
        await new Promise((r) => setTimeout(r, 20));
        order.push(`handled ${s.uuid}`);
      },
    });
    master.calls.waitFor(isCase('acknowledge')).then(
      () => order.push('acknowledged'),
      () => undefined,
    );
    await d.start();
    master.send({ $case: 'update', update: { status: status('') } });
    master.send({ $case: 'update', update: { status: status('u1') } });
    const ack = await master.calls.waitFor(isCase('acknowledge'));
    expect(ack.call).toEqual({ $case: 'acknowledge', acknowledge: { agentId: 'a1', taskId: 't1', uuid: 'u1' } });
    await eventually(() => order.length === 3, 5000, 'the acknowledgement');
    expect(order).toEqual(['handled ', 'handled u1', 'acknowledged']);
    expect(master.calls.items.filter(isCase('acknowledge'))).toHaveLength(1);
  });

  it('handles each status of an UPDATES event in order and acknowledges them in one call; drops those that fail the checks', async () => {
    const master = await fakeMaster();
    const handled: string[] = [];
    const d = driver(master.address, {
      update: (_d, s) => {
        handled.push(s.uuid);
        if (s.uuid === 'u-throws') throw new Error('cannot handle this');
      },
    });
    await d.start();
    const statuses = [
      status('u-starting', 't1'),
      status('u-running', 't1'),
      { ...status('u-other', 't2'), frameworkId: 'fw-someone-else' },
      status('u-badid', '../etc'),
      status('u'.repeat(65), 't3'),
      status('u-throws', 't4'),
      status('u-last', 't5'),
    ];
    master.send({ $case: 'updates', updates: { statuses } });
    const ack = await master.calls.waitFor(isCase('acknowledgeMany'));
    expect(handled).toEqual(['u-starting', 'u-running', 'u-throws', 'u-last']);
    const acked = ack.call?.$case === 'acknowledgeMany' ? ack.call.acknowledgeMany.acknowledgements : [];
    expect(acked.map((a) => a.uuid)).toEqual(['u-starting', 'u-running', 'u-last']);
    // Too many in one event: none is taken.
    const flood = Array.from({ length: 1001 }, (_, i) => status(`f${i}`, `f${i}`));
    master.send({ $case: 'updates', updates: { statuses: flood } });
    master.send({ $case: 'update', update: { status: status('u-after', 't6') } });
    await master.calls.waitFor(isCase('acknowledge'));
    expect(handled.at(-1)).toBe('u-after');
    expect(handled.filter((u) => u.startsWith('f'))).toEqual([]);
  });

  it('leaves acknowledgement to the framework when autoAcknowledge is off, or the handler throws', async () => {
    const master = await fakeMaster();
    let handled = 0;
    const d = driver(
      master.address,
      {
        update: (_d, s) => {
          handled += 1;
          if (s.taskId === 'bad') throw new Error('cannot handle this');
        },
      },
      { autoAcknowledge: false },
    );
    await d.start();
    master.send({ $case: 'update', update: { status: status('u1') } });
    await eventually(() => handled === 1, 5000, 'the update');
    expect(master.calls.items.filter(isCase('acknowledge'))).toHaveLength(0);

    const throwing = driver(master.address, {
      update: () => {
        throw new Error('cannot handle this');
      },
    });
    await throwing.start();
    master.send({ $case: 'update', update: { status: status('u2') } });
    await new Promise((r) => setTimeout(r, 100));
    expect(master.calls.items.filter(isCase('acknowledge'))).toHaveLength(0);
  });

  it('re-subscribes with the same id and reconciles when the master closes the stream', async () => {
    const master = await fakeMaster();
    const subscribed: boolean[] = [];
    let disconnects = 0;
    const d = driver(master.address, {
      subscribed: (_d, info) => void subscribed.push(info.resubscribed),
      disconnected: () => void (disconnects += 1),
    });
    const id = await d.start();
    await master.calls.waitFor(isCase('reconcile'));
    master.closeStreams();
    await eventually(() => subscribed.length === 2, 5000, 'a re-subscription');
    expect(master.subscriptions.items.map((info) => info.id)).toEqual(['', id]);
    expect(subscribed).toEqual([false, true]);
    expect(disconnects).toBe(1);
    await eventually(() => master.calls.items.filter(isCase('reconcile')).length === 2, 5000, 'a second RECONCILE');
  });

  it('UPDATE_FRAMEWORK sends the new roles, and re-subscriptions carry them; a refusal changes nothing', async () => {
    const master = await fakeMaster({
      onCall: (call) => {
        const roles = call.call?.$case === 'updateFramework' ? call.call.updateFramework.frameworkInfo?.roles : [];
        if (roles?.includes('mallory'))
          throw new GalaxyError('GALAXY_E_PERMISSION_DENIED', 'user sdk does not hold role mallory');
      },
    });
    const d = driver(master.address, {}, { framework: { name: 'sdk-test', roles: ['alice'] } });
    const id = await d.start();
    expect(master.subscriptions.items[0]?.roles).toEqual(['alice']);
    await d.updateFramework({ roles: ['alice', 'bob'] });
    const update = await master.calls.waitFor(isCase('updateFramework'));
    expect(update.call?.$case === 'updateFramework' && update.call.updateFramework.frameworkInfo).toMatchObject({
      id,
      name: 'sdk-test',
      roles: ['alice', 'bob'],
    });
    expect(d.roles).toEqual(['alice', 'bob']);
    await expect(d.updateFramework({ roles: ['mallory'] })).rejects.toMatchObject({
      code: 'GALAXY_E_PERMISSION_DENIED',
    });
    expect(d.roles).toEqual(['alice', 'bob']);
    master.closeStreams();
    const again = await master.subscriptions.waitFor((info) => info.id === id, 5000, 'a re-subscription');
    expect(again.roles).toEqual(['alice', 'bob']);
  });

  it('re-subscribes to a master restarted on the same port', async () => {
    const first = await fakeMaster();
    const d = driver(first.address);
    const id = await d.start();
    await first.stop();
    await new Promise((r) => setTimeout(r, 100)); // a few failed attempts in between
    const second = await fakeMaster({ port: first.port });
    const info = await second.subscriptions.waitFor(() => true, 5000, 'a re-subscription');
    expect(info).toMatchObject({ id, name: 'sdk-test' });
    const reconcile = await second.calls.waitFor(isCase('reconcile'), 5000, 'a RECONCILE');
    expect(reconcile.frameworkId).toBe(id);
  });

  it('treats missing heartbeats as a dead connection', async () => {
    const master = await fakeMaster({ heartbeatIntervalS: 0.05 });
    let disconnects = 0;
    const d = driver(master.address, { disconnected: () => void (disconnects += 1) });
    await d.start();
    await new Promise((r) => setTimeout(r, 300)); // heartbeats keep a quiet connection alive
    expect(master.subscriptions.items).toHaveLength(1);
    master.silence();
    await master.subscriptions.waitFor((info) => info.id === 'fw-fake-1', 5000, 'a re-subscription');
    expect(disconnects).toBe(1);
  });

  it('gives up when the master refuses the framework', async () => {
    const master = await fakeMaster({
      onSubscribe: () => {
        throw new GalaxyError('GALAXY_E_FRAMEWORK_INVALID', 'role ../etc is not a role');
      },
    });
    const errors: string[] = [];
    const d = driver(master.address, { error: (_d, e) => void errors.push(e.code) });
    await expect(d.start()).rejects.toMatchObject({ code: 'GALAXY_E_FRAMEWORK_INVALID' });
    await new Promise((r) => setTimeout(r, 100));
    expect(master.subscriptions.items).toHaveLength(1);
    expect(errors).toEqual(['GALAXY_E_FRAMEWORK_INVALID']);
  });

  it('runs handlers one at a time, in the order the events arrived', async () => {
    const master = await fakeMaster();
    const log: string[] = [];
    const d = driver(master.address, {
      offers: async () => {
        log.push('offers begin');
        await new Promise((r) => setTimeout(r, 50));
        log.push('offers end');
      },
      failure: (_d, agentId) => void log.push(`failure ${agentId}`),
      message: (_d, m) => void log.push(`message ${Buffer.from(m.data).toString()}`),
    });
    await d.start();
    master.send({ $case: 'offers', offers: { offers: [offer] } });
    master.send({ $case: 'failure', failure: { agentId: 'a1' } });
    master.send({ $case: 'message', message: { agentId: 'a1', taskId: 't1', data: Buffer.from('hi') } });
    await eventually(() => log.length === 4, 5000, 'every event');
    expect(log).toEqual(['offers begin', 'offers end', 'failure a1', 'message hi']);
  });

  it('stops on a fatal ERROR event and only reports a non-fatal one', async () => {
    const master = await fakeMaster();
    const errors: { code: string; fatal: boolean }[] = [];
    const d = driver(master.address, { error: (_d, e) => void errors.push({ code: e.code, fatal: e.fatal }) });
    await d.start();
    master.send({ $case: 'error', error: { code: 'GALAXY_E_INTERNAL', message: 'hiccup' } });
    master.send({ $case: 'error', error: { code: 'GALAXY_E_FRAMEWORK_UNKNOWN', message: 'torn down' } });
    await eventually(() => errors.length === 2, 5000, 'both errors');
    expect(errors).toEqual([
      { code: 'GALAXY_E_INTERNAL', fatal: false },
      { code: 'GALAXY_E_FRAMEWORK_UNKNOWN', fatal: true },
    ]);
    await eventually(() => master.openStreams() === 0, 5000, 'the stream to close');
    await expect(d.revive()).rejects.toMatchObject({ code: 'GALAXY_E_UNAVAILABLE' });
  });

  it('stops cleanly: no stream, no timers, and a pending start() is rejected', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const master = await fakeMaster();
    const d = driver(master.address);
    await d.start();
    await d.stop();
    await eventually(() => master.openStreams() === 0, 5000, 'the stream to close');
    await master.stop();

    const unreachable = driver(`127.0.0.1:${master.port}`);
    const started = unreachable.start();
    await new Promise((r) => setTimeout(r, 50));
    await unreachable.stop();
    await expect(started).rejects.toMatchObject({ code: 'GALAXY_E_UNAVAILABLE' });
    await expect(unreachable.revive()).rejects.toMatchObject({ code: 'GALAXY_E_UNAVAILABLE' });
    await eventually(() => timers() <= before, 2000, 'every timer to be cleared');
  });

  it('can be stopped from inside a handler', async () => {
    const master = await fakeMaster();
    let stopped = false;
    const d = driver(master.address, {
      offers: async (self) => {
        await self.stop();
        stopped = true;
      },
    });
    await d.start();
    master.send({ $case: 'offers', offers: { offers: [offer] } });
    await eventually(() => stopped, 5000, 'the handler to stop the driver');
    await eventually(() => master.openStreams() === 0, 5000, 'the stream to close');
  });

  it('tears down and forgets its id', async () => {
    const master = await fakeMaster();
    const d = driver(master.address);
    await d.start();
    await d.teardown();
    expect(master.calls.items.some(isCase('teardown'))).toBe(true);
    expect(d.frameworkId).toBe('');
    await eventually(() => master.openStreams() === 0, 5000, 'the stream to close');
  });
});
