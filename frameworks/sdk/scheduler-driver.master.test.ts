/**
 * The scheduler driver against a real master over loopback gRPC, with a hand-driven agent so the
 * test decides every status update. The scripted cases live in scheduler-driver.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMaster, type Master } from '../../master/master.js';
import { StatusSource, TaskState, type Offer, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { ackedUuids, rawAgent, type RawAgent } from '../../test/helpers/raw-clients.js';
import { GrpcSchedulerDriver } from './scheduler-driver.js';
import type { Scheduler } from './scheduler.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function master(listen = '127.0.0.1:0'): Promise<Master> {
  const m = await startMaster({
    listen,
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100, frameworkHeartbeatMs: 200 },
  });
  cleanups.push(() => m.stop());
  return m;
}
function agent(address: string): RawAgent {
  const a = rawAgent(address, {});
  cleanups.push(() => {
    a.close();
  });
  return a;
}
function driver(address: string, scheduler: Scheduler, name = 'sdk-test'): GrpcSchedulerDriver {
  const d = new GrpcSchedulerDriver({
    master: address,
    framework: { name, failoverTimeoutS: 30 },
    scheduler,
    reconnect: { initialMs: 50, maxMs: 200 },
  });
  cleanups.push(() => d.stop());
  return d;
}

describe('GrpcSchedulerDriver', () => {
  it('subscribes, receives offers, launches, and acknowledges updates that carry a uuid', async () => {
    const m = await master();
    const a = agent(m.address);
    const agentId = await a.registered;
    const offers: Offer[] = [];
    const updates: TaskStatus[] = [];
    const d = driver(m.address, {
      offers: (_d, o) => {
        offers.push(...o);
      },
      update: (_d, s) => {
        updates.push(s);
      },
    });
    const id = await d.start();
    expect(id).toMatch(/^fw-/);
    await eventually(() => offers.length > 0, 5000, 'an offer');
    const offer = offers[0];
    if (!offer) throw new Error('no offer');
    await d.launch(
      [offer.id],
      [
        {
          taskId: 't1',
          name: 't1',
          agentId,
          resources: { cpus: 100, mem: 0, disk: 0, gpus: 0, ports: [] },
          command: { shell: 'true', argv: [], env: {}, user: '' },
          labels: [],
          killGraceS: 1,
          volumes: [],
        },
      ],
    );
    await a.received.waitFor((msg) => msg.message?.$case === 'runTask');
    const running: TaskStatus = {
      taskId: 't1',
      frameworkId: id,
      agentId,
      state: TaskState.TASK_RUNNING,
      message: '',
      reason: '',
      source: StatusSource.SOURCE_AGENT,
      timestamp: 0,
      uuid: 'u-run',
    };
    a.send({ message: { $case: 'statusUpdate', statusUpdate: { status: running } } });
    const ack = await a.received.waitFor((msg) => msg.message?.$case === 'ack');
    expect(ack.message?.$case === 'ack' && ack.message.ack.uuid).toBe('u-run');
    expect(updates.some((u) => u.uuid === 'u-run')).toBe(true);
    // Reconciliation answers carry no uuid and are never acknowledged.
    await d.reconcile([{ taskId: 't1' }]);
    await eventually(
      () => updates.some((u) => u.reason === 'reconciliation' && u.taskId === 't1'),
      5000,
      'a reconciliation answer',
    );
    expect(a.received.items.filter((msg) => msg.message?.$case === 'ack')).toHaveLength(1);
  });

  it('gets a burst of updates in UPDATES events, in order per task, and acknowledges each once', async () => {
    const m = await master();
    const a = agent(m.address);
    const agentId = await a.registered;
    const offers: Offer[] = [];
    const updates: TaskStatus[] = [];
    const d = driver(m.address, {
      offers: (_d, o) => {
        offers.push(...o);
      },
      update: (_d, s) => {
        updates.push(s);
      },
    });
    const id = await d.start();
    await eventually(() => offers.length > 0, 5000, 'an offer');
    const offer = offers[0];
    if (!offer) throw new Error('no offer');
    const tasks = Array.from({ length: 40 }, (_, i) => ({
      taskId: `cellack-t${i}`,
      name: 'burst',
      agentId,
      resources: { cpus: 10, mem: 0, disk: 0, gpus: 0, ports: [] },
      command: { shell: 'true', argv: [], env: {}, user: '' },
      labels: [],
      killGraceS: 1,
      volumes: [],
    }));
    await d.launch([offer.id], tasks);
    await a.received.waitFor((msg) => msg.message?.$case === 'runTasks');
    const status = (taskId: string, state: TaskState, uuid: string): TaskStatus => ({
      taskId,
      frameworkId: id,
      agentId,
      state,
      message: '',
      reason: '',
      source: StatusSource.SOURCE_AGENT,
      timestamp: 0,
      uuid,
    });
    const sent = tasks.flatMap((t) => [
      status(t.taskId, TaskState.TASK_STARTING, `${t.taskId}-starting`),
      status(t.taskId, TaskState.TASK_RUNNING, `${t.taskId}-running`),
    ]);
    // As an agent's status outbox sends a burst: several updates per message.
    for (let i = 0; i < sent.length; i += 20)
      a.send({ message: { $case: 'statusUpdates', statusUpdates: { statuses: sent.slice(i, i + 20) } } });
    await eventually(
      () => new Set(a.received.items.flatMap(ackedUuids)).size === sent.length,
      10_000,
      'every update acknowledged',
    );
    expect(updates.map((u) => u.uuid)).toEqual(sent.map((s) => s.uuid));
    // Several updates per event: they came batched.
    expect(m.ctx.frameworkEvents.updates).toBe(sent.length);
    expect(m.ctx.frameworkEvents.events).toBeLessThanOrEqual(sent.length / 20);
    // An agent's resend of one, at once: not forwarded again to the same stream.
    const resent = sent[1];
    if (!resent) throw new Error('no update');
    a.send({ message: { $case: 'statusUpdate', statusUpdate: { status: resent } } });
    await eventually(() => m.ctx.forwardedUpdates.held === 1, 5000, 'the resend held');
    expect(updates).toHaveLength(sent.length);
    expect(a.received.items.flatMap(ackedUuids)).toHaveLength(sent.length);
  });

  it("surfaces the master's coded errors", async () => {
    const m = await master();
    const d = driver(m.address, {});
    await d.start();
    await expect(d.decline(['offer-that-never-was'])).rejects.toMatchObject({ code: 'GALAXY_E_OFFER_UNKNOWN' });
    const bad = new GrpcSchedulerDriver({ master: m.address, framework: { name: 'x', role: '../etc' }, scheduler: {} });
    cleanups.push(() => bad.stop());
    await expect(bad.start()).rejects.toMatchObject({ code: 'GALAXY_E_FRAMEWORK_INVALID' });
  });

  it('re-subscribes with the same id when the master restarts', async () => {
    const first = await master();
    const address = first.address;
    const subscriptions: boolean[] = [];
    const d = driver(address, {
      subscribed: (_d, info) => {
        subscriptions.push(info.resubscribed);
      },
    });
    const id = await d.start();
    await first.stop();
    cleanups.shift(); // already stopped
    const second = await master(address);
    await eventually(
      () => second.view.frameworks().some((f) => f.info?.id === id && f.active),
      10_000,
      'the framework back on the new master',
    );
    // The driver hears SUBSCRIBED after the master marks the framework active.
    await eventually(() => subscriptions.length === 2, 5000, 'the second SUBSCRIBED at the driver');
    expect(subscriptions).toEqual([false, true]);
  });

  it('re-subscribes when heartbeats stop arriving', async () => {
    const m = await master();
    let disconnects = 0;
    const d = driver(m.address, {
      disconnected: () => {
        disconnects += 1;
      },
    });
    const id = await d.start();
    // Silence the master's heartbeats to this framework without closing the stream.
    const record = m.ctx.frameworks.get(id);
    clearInterval(record?.heartbeatTimer);
    await eventually(() => disconnects > 0, 5000, 'the heartbeat watchdog');
    await eventually(() => m.ctx.frameworks.get(id)?.active, 5000, 'a re-subscription');
  });
});
