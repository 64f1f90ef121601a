/**
 * The master over real gRPC on loopback, driven by hand-written agents and frameworks so that
 * every malformed or hostile request can be sent. Each bad request must get a clear coded error
 * and change nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runRequests } from '../../agent/master-messages.js';
import { startMaster, type Master } from '../../master/master.js';
import { StatusSource, TaskState } from '../../proto/gen/galaxy/v1/common.js';
import type { Offer, TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import { ackedUuids, rawAgent, rawFramework, type RawAgent, type RawFramework } from '../helpers/raw-clients.js';

let master: Master;
const open: { close(): void }[] = [];

function agent(...args: Parameters<typeof rawAgent>): RawAgent {
  const a = rawAgent(...args);
  open.push(a);
  return a;
}
function framework(info: Parameters<typeof rawFramework>[1]): RawFramework {
  const f = rawFramework(master.address, info);
  open.push(f);
  return f;
}
async function firstOffer(fw: RawFramework): Promise<Offer> {
  const event = await fw.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'OFFERS');
  const offer = event.event?.$case === 'offers' ? event.event.offers.offers[0] : undefined;
  if (!offer) throw new Error('empty OFFERS event');
  return offer;
}
function launchOn(fw: RawFramework, offer: Offer, taskInfos: TaskInfo[]): Promise<void> {
  return fw.call({
    call: {
      $case: 'accept',
      accept: { offerIds: [offer.id], operations: [{ operation: { $case: 'launch', launch: { taskInfos } } }] },
    },
  });
}
function task(id: string, cpus = 500, mem = 64 * 1024 ** 2): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus, mem, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'true', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}
const isUpdate = (taskId: string, state: TaskState) => (e: Event) =>
  e.event?.$case === 'update' && e.event.update.status?.taskId === taskId && e.event.update.status.state === state;

/** An agent running `t1` of a new framework of `info`: the start of the status-update scenarios. */
async function runningT1(info: Parameters<typeof rawFramework>[1]) {
  const a = agent(master.address, {});
  const agentId = await a.registered;
  const fw = framework(info);
  const frameworkId = await fw.frameworkId;
  const offer = await firstOffer(fw);
  await launchOn(fw, offer, [task('t1')]);
  await a.received.waitFor((m) => m.message?.$case === 'runTask');
  return { a, agentId, fw, frameworkId, offer };
}

/** {@link runningT1}, then its agent goes away: resolves once the framework hears `t1` UNREACHABLE. */
async function lostT1(info: Parameters<typeof rawFramework>[1]) {
  const running = await runningT1(info);
  running.a.close();
  const lost = await running.fw.events.waitFor(isUpdate('t1', TaskState.TASK_UNREACHABLE), 5000, 'TASK_UNREACHABLE');
  return { ...running, status: lost.event?.$case === 'update' ? lost.event.update.status : undefined };
}

beforeEach(async () => {
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100, agentReregisterTimeoutMs: 600, statusRetryMs: 200, offerTimeoutMs: 0 },
  });
});

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await master.stop();
});

describe('master timers', () => {
  it('rescinds an unanswered offer after the offer timeout, then offers the resources again', async () => {
    await master.stop();
    master = await startMaster({
      listen: '127.0.0.1:0',
      insecureNoAuth: true,
      logLevel: 'silent',
      timings: { allocationIntervalMs: 100, offerTimeoutMs: 300 },
    });
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'slow' });
    const offer = await firstOffer(fw);
    const rescind = await fw.events.waitFor((e) => e.event?.$case === 'rescind', 5000, 'RESCIND');
    expect(rescind.event?.$case === 'rescind' && rescind.event.rescind.offerId).toBe(offer.id);
    const next = await fw.events.waitFor(
      (e) => e.event?.$case === 'offers' && e.event.offers.offers[0]?.id !== offer.id,
      5000,
      'a new offer',
    );
    expect(next).toBeDefined();
  });

  it('disconnects an agent that stops answering pings, and marks it inactive', async () => {
    await master.stop();
    master = await startMaster({
      listen: '127.0.0.1:0',
      insecureNoAuth: true,
      logLevel: 'silent',
      timings: { agentPingIntervalMs: 100, agentMaxMissedPings: 3, agentReregisterTimeoutMs: 60_000 },
    });
    const silent = agent(master.address, { hostname: 'silent' }); // never answers pings
    const id = await silent.registered;
    await silent.received.waitFor((m) => m.message?.$case === 'ping', 2000, 'a ping');
    await eventually(
      () => master.view.agents().find((x) => x.info?.id === id)?.active === false,
      3000,
      'the agent marked inactive',
    );
    expect(master.view.agents()).toHaveLength(1); // kept until its re-registration timeout
  });
});

describe('master protocol', () => {
  it('offers a registered agent to a subscribed framework and routes a launch', async () => {
    const a = agent(master.address, { hostname: 'h1' });
    const agentId = await a.registered;
    const fw = framework({ name: 'f1' });
    const offer = await firstOffer(fw);
    expect(offer.agentId).toBe(agentId);
    expect(offer.resources?.cpus).toBe(4000);
    await launchOn(fw, offer, [task('t1')]);
    const run = await a.received.waitFor((m) => m.message?.$case === 'runTask');
    expect(run.message?.$case === 'runTask' && run.message.runTask.task?.taskId).toBe('t1');
    expect(master.view.tasks('').map((t) => t.taskId)).toEqual(['t1']);
  });

  it('sends the tasks of one ACCEPT to their agent as one RunTasks message, in order', async () => {
    const a = agent(master.address, { hostname: 'h-many' });
    await a.registered;
    const fw = framework({ name: 'f-many' });
    const offer = await firstOffer(fw);
    await launchOn(fw, offer, [task('m1'), task('m2'), task('m3')]);
    const run = await a.received.waitFor((m) => m.message?.$case === 'runTasks');
    const id = await fw.frameworkId;
    expect(runRequests(run).map((r) => [r.framework?.id, r.task?.taskId])).toEqual(
      ['m1', 'm2', 'm3'].map((taskId) => [id, taskId]),
    );
    expect(a.received.items.some((m) => m.message?.$case === 'runTask')).toBe(false);
  });

  it('refuses an unknown offer id and launches nothing', async () => {
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'f' });
    const offer = await firstOffer(fw);
    const call = fw.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: ['offer-nope'],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task('t1')] } } }],
        },
      },
    });
    await expect(call).rejects.toMatchObject({ code: 'GALAXY_E_OFFER_UNKNOWN' });
    expect(master.view.tasks('')).toEqual([]);
    expect(master.ctx.offers.get(offer.id)).toBeDefined();
    expect(a.received.items.some((m) => m.message?.$case === 'runTask')).toBe(false);
  });

  it('refuses an over-committing ACCEPT with the numbers, and launches none of its tasks', async () => {
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'f' });
    const offer = await firstOffer(fw);
    const tasks = [task('ok', 2000), task('too-much', 2500)];
    const call = fw.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: [offer.id],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }],
        },
      },
    });
    await expect(call).rejects.toMatchObject({ code: 'GALAXY_E_OVERCOMMIT' });
    await expect(call).rejects.toThrow(/cpus:4\.5.*cpus:4/);
    expect(master.view.tasks('')).toEqual([]);
    expect(master.ctx.offers.get(offer.id)).toBeDefined();
  });

  it('refuses malformed tasks: bad id, no command, port outside the offer, duplicate id', async () => {
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'f' });
    const offer = await firstOffer(fw);
    const launch = (taskInfos: TaskInfo[]) =>
      fw.call({
        call: {
          $case: 'accept',
          accept: { offerIds: [offer.id], operations: [{ operation: { $case: 'launch', launch: { taskInfos } } }] },
        },
      });
    await expect(launch([{ ...task('../etc') }])).rejects.toMatchObject({ code: 'GALAXY_E_TASK_INVALID' });
    await expect(
      launch([{ ...task('x'), command: { shell: '  ', argv: [], env: {}, user: '' } }]),
    ).rejects.toMatchObject({ code: 'GALAXY_E_TASK_INVALID' });
    const withPort = task('p');
    withPort.resources = { cpus: 100, mem: 0, disk: 0, gpus: 0, ports: [{ begin: 80, end: 80 }] };
    await expect(launch([withPort])).rejects.toMatchObject({ code: 'GALAXY_E_OVERCOMMIT' });
    await expect(launch([task('d'), task('d')])).rejects.toMatchObject({ code: 'GALAXY_E_TASK_DUPLICATE' });
    expect(master.view.tasks('')).toEqual([]);
  });

  it('treats a declined offer as stale', async () => {
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'f' });
    const offer = await firstOffer(fw);
    await fw.call({ call: { $case: 'decline', decline: { offerIds: [offer.id], filters: { refuseSeconds: 60 } } } });
    const call = fw.call({ call: { $case: 'accept', accept: { offerIds: [offer.id], operations: [] } } });
    await expect(call).rejects.toMatchObject({ code: 'GALAXY_E_OFFER_UNKNOWN' });
    await expect(fw.call({ call: { $case: 'decline', decline: { offerIds: [offer.id] } } })).rejects.toMatchObject({
      code: 'GALAXY_E_OFFER_UNKNOWN',
    });
  });

  it('refuses a second agent that claims a connected agent id; the first stays active', async () => {
    const first = agent(master.address, { hostname: 'one' });
    const id = await first.registered;
    const second = agent(master.address, { id, hostname: 'two' });
    await expect(second.registered).rejects.toThrow(/GALAXY_E_AGENT_DUPLICATE/);
    const summary = master.view.agents();
    expect(summary).toHaveLength(1);
    expect(summary[0]?.info?.hostname).toBe('one');
    expect(summary[0]?.active).toBe(true);
  });

  it('refuses an agent whose first message is not a registration, and malformed registrations', async () => {
    const a = agent(master.address, { hostname: '' });
    await expect(a.registered).rejects.toThrow(/GALAXY_E_AGENT_INVALID/);
    const b = agent(master.address, { total: { cpus: -1, mem: 0, disk: 0, gpus: 0, ports: [] } });
    await expect(b.registered).rejects.toThrow(/GALAXY_E_INVALID_RESOURCES/);
    expect(master.view.agents()).toEqual([]);
  });

  it('refuses calls from unknown frameworks and bad framework infos', async () => {
    const fw = framework({ name: 'f' });
    await fw.frameworkId;
    await expect(
      fw.call({ frameworkId: 'fw-unknown', call: { $case: 'revive', revive: { roles: [] } } }),
    ).rejects.toMatchObject({ code: 'GALAXY_E_FRAMEWORK_UNKNOWN' });
    await expect(fw.call({ call: { $case: 'kill', kill: { taskId: 'nope', agentId: '' } } })).rejects.toMatchObject({
      code: 'GALAXY_E_TASK_UNKNOWN',
    });
    const bad = framework({ name: '' });
    await expect(bad.error).resolves.toMatchObject({ code: 'GALAXY_E_FRAMEWORK_INVALID' });
    const badRole = framework({ name: 'x', role: 'eng//a' });
    await expect(badRole.error).resolves.toMatchObject({ code: 'GALAXY_E_FRAMEWORK_INVALID' });
    expect(master.view.frameworks()).toHaveLength(1);
  });

  it('forwards agent status updates and routes the acknowledgement back', async () => {
    const { a, agentId, fw, frameworkId } = await runningT1({ name: 'f' });
    const status = {
      taskId: 't1',
      frameworkId,
      agentId,
      state: TaskState.TASK_FINISHED,
      message: '',
      reason: '',
      source: StatusSource.SOURCE_AGENT,
      timestamp: 0,
      uuid: 'u-1',
      exitCode: 0,
    };
    a.send({ message: { $case: 'statusUpdate', statusUpdate: { status } } });
    await fw.events.waitFor(isUpdate('t1', TaskState.TASK_FINISHED));
    await fw.call({ call: { $case: 'acknowledge', acknowledge: { agentId, taskId: 't1', uuid: 'u-1' } } });
    const ack = await a.received.waitFor((m) => m.message?.$case === 'ack');
    expect(ack.message?.$case === 'ack' && ack.message.ack.uuid).toBe('u-1');
    // The finished task's resources are offered again.
    const again = await fw.events.waitFor(
      (e) => e.event?.$case === 'offers' && e.event.offers.offers.some((o) => o.resources?.cpus === 4000),
    );
    expect(again).toBeDefined();
    // A duplicate acknowledgement (at-least-once) is harmless.
    await fw.call({ call: { $case: 'acknowledge', acknowledge: { agentId, taskId: 't1', uuid: 'u-1' } } });
  });

  it('applies each acknowledgement of an ACKNOWLEDGE_MANY, refusing an unknown task by name and too many at once', async () => {
    const a = agent(master.address, {});
    const agentId = await a.registered;
    const fw = framework({ name: 'f' });
    const frameworkId = await fw.frameworkId;
    const offer = await firstOffer(fw);
    await launchOn(fw, offer, [task('t1'), task('t2')]);
    await a.received.waitFor((m) => runRequests(m).some((r) => r.task?.taskId === 't2'));
    for (const taskId of ['t1', 't2']) {
      const status = {
        taskId,
        frameworkId,
        agentId,
        state: TaskState.TASK_FINISHED,
        message: '',
        reason: '',
        source: StatusSource.SOURCE_AGENT,
        timestamp: 0,
        uuid: `u-${taskId}`,
        exitCode: 0,
      };
      a.send({ message: { $case: 'statusUpdate', statusUpdate: { status } } });
      await fw.events.waitFor(isUpdate(taskId, TaskState.TASK_FINISHED));
    }
    const ack = (taskId: string) => ({ agentId, taskId, uuid: `u-${taskId}` });
    const tooMany = Array.from({ length: 10_001 }, () => ack('t1'));
    await expect(
      fw.call({ call: { $case: 'acknowledgeMany', acknowledgeMany: { acknowledgements: tooMany } } }),
    ).rejects.toMatchObject({ code: 'GALAXY_E_LIMIT_EXCEEDED' });
    // What the agent was told to forget, single (`ack`) or batched (`acks`, one turn's worth).
    const acked = (): string[] => a.received.items.flatMap(ackedUuids);
    expect(acked()).toHaveLength(0); // nothing applied
    await expect(
      fw.call({
        call: {
          $case: 'acknowledgeMany',
          acknowledgeMany: { acknowledgements: [ack('t1'), ack('nope'), ack('t2')] },
        },
      }),
    ).rejects.toThrow(/GALAXY_E_TASK_UNKNOWN.*1 of 3 acknowledgements refused.*"nope"/);
    // The known ones were applied, each as its own ACKNOWLEDGE: both reach the agent.
    await eventually(() => acked().length >= 2, 5000, 'both acknowledgements at the agent');
    expect(acked().sort()).toEqual(['u-t1', 'u-t2']);
  });

  it('reports the tasks of an agent that did not come back as UNREACHABLE, retrying until acknowledged', async () => {
    const { agentId, fw, status } = await lostT1({ name: 'f' });
    expect(status?.reason).toBe('agent-reregistration-timeout');
    expect(status?.uuid).not.toBe('');
    await fw.events.waitFor((e) => e.event?.$case === 'failure' && e.event.failure.agentId === agentId);
    // Not acknowledged yet: it comes again.
    const count = () => fw.events.items.filter(isUpdate('t1', TaskState.TASK_UNREACHABLE)).length;
    await eventually(() => count() >= 2, 5000, 'a retried UNREACHABLE update');
    await fw.call({ call: { $case: 'acknowledge', acknowledge: { agentId, taskId: 't1', uuid: status?.uuid ?? '' } } });
    expect(master.view.agents()).toEqual([]);
    expect(master.view.tasks('')[0]?.state).toBe(TaskState.TASK_UNREACHABLE);
  });

  it('keeps a re-registering agent and its tasks, and kills stale copies of tasks already reported UNREACHABLE', async () => {
    const { agentId, fw, frameworkId, offer } = await lostT1({ name: 'f', failoverTimeoutS: 60 });
    const t1 = {
      taskId: 't1',
      name: 't1',
      frameworkId,
      agentId,
      state: TaskState.TASK_RUNNING,
      labels: [],
      role: '*',
      resources: task('t1').resources,
    };
    const back = agent(
      master.address,
      { id: agentId },
      [t1],
      [{ id: frameworkId, name: 'f', role: '*', user: '', failoverTimeoutS: 60, hostname: '', roles: [] }],
    );
    await back.registered;
    const kill = await back.received.waitFor((m) => m.message?.$case === 'killTask');
    expect(kill.message?.$case === 'killTask' && kill.message.killTask.taskId).toBe('t1');
    // Until the stale copy is dead its resources stay held: nothing offers them.
    const offered = () =>
      fw.events.items
        .flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers : []))
        .filter((o) => o.agentId === agentId && o.id !== offer.id);
    await eventually(() => offered().length > 0, 5000, 'an offer of the returned agent');
    expect(offered().every((o) => (o.resources?.cpus ?? 0) <= 4000 - 500)).toBe(true);
  });

  it('reports a task GONE when its agent comes back without it', async () => {
    const { agentId, fw, frameworkId, status } = await lostT1({ name: 'f', failoverTimeoutS: 60 });
    const uuid = status?.uuid ?? '';
    await fw.call({ call: { $case: 'acknowledge', acknowledge: { agentId, taskId: 't1', uuid } } });
    const back = agent(
      master.address,
      { id: agentId },
      [],
      [{ id: frameworkId, name: 'f', role: '*', user: '', failoverTimeoutS: 60, hostname: '', roles: [] }],
    );
    await back.registered;
    const gone = await fw.events.waitFor(isUpdate('t1', TaskState.TASK_GONE), 5000, 'TASK_GONE');
    expect(gone.event?.$case === 'update' && gone.event.update.status?.reason).toBe('task-unknown-to-agent');
    expect(master.view.tasks(frameworkId).find((t) => t.taskId === 't1')?.state).toBe(TaskState.TASK_GONE);
  });

  it('answers explicit and implicit reconciliation', async () => {
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'f' });
    const offer = await firstOffer(fw);
    await launchOn(fw, offer, [task('t1')]);
    await fw.call({ call: { $case: 'reconcile', reconcile: { tasks: [{ taskId: 'ghost', agentId: '' }] } } });
    const ghost = await fw.events.waitFor(isUpdate('ghost', TaskState.TASK_UNKNOWN));
    expect(ghost.event?.$case === 'update' && ghost.event.update.status?.uuid).toBe('');
    await fw.call({ call: { $case: 'reconcile', reconcile: { tasks: [] } } });
    const t1 = await fw.events.waitFor(isUpdate('t1', TaskState.TASK_STAGING));
    expect(t1.event?.$case === 'update' && t1.event.update.status?.reason).toBe('reconciliation');
  });

  it('lets a plugin on validateLaunch veto a launch; the ACCEPT then launches nothing', async () => {
    master.hooks.validateLaunch.tap('no-root', (task) =>
      task.command?.user === 'root' ? 'tasks may not run as root' : undefined,
    );
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'f' });
    const offer = await firstOffer(fw);
    const asRoot = { ...task('r'), command: { shell: 'id', argv: [], env: {}, user: 'root' } };
    const call = fw.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: [offer.id],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task('fine'), asRoot] } } }],
        },
      },
    });
    await expect(call).rejects.toThrow(/GALAXY_E_TASK_INVALID: task r: tasks may not run as root/);
    expect(master.view.tasks('')).toEqual([]);
  });

  it('rescinds offers when their agent disconnects', async () => {
    const a = agent(master.address, {});
    await a.registered;
    const fw = framework({ name: 'f' });
    const offer = await firstOffer(fw);
    a.close();
    const rescind = await fw.events.waitFor((e) => e.event?.$case === 'rescind');
    expect(rescind.event?.$case === 'rescind' && rescind.event.rescind.offerId).toBe(offer.id);
  });
});

describe('master bookkeeping after teardown', () => {
  it("records the end of a torn-down framework's tasks", async () => {
    const { a, agentId, fw, frameworkId } = await runningT1({ name: 'short-lived' });
    await fw.call({ call: { $case: 'teardown', teardown: {} } });
    await a.received.waitFor((m) => m.message?.$case === 'killTask');
    const killed = {
      taskId: 't1',
      frameworkId,
      agentId,
      state: TaskState.TASK_KILLED,
      message: '',
      reason: 'killed',
      source: StatusSource.SOURCE_AGENT,
      timestamp: 0,
      uuid: 'u-k',
    };
    a.send({ message: { $case: 'statusUpdate', statusUpdate: { status: killed } } });
    await a.received.waitFor((m) => m.message?.$case === 'ack' && m.message.ack.uuid === 'u-k');
    expect(master.view.tasks('').find((t) => t.taskId === 't1')?.state).toBe(TaskState.TASK_KILLED);
  });
});
