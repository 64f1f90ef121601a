/**
 * The master's bounds over real gRPC: records of what is gone are forgotten after the retention
 * period (a task reported UNREACHABLE that nobody acknowledges, a torn-down framework), one
 * principal may hold only so many frameworks, and one ACCEPT may launch only so many tasks. Each
 * refusal is coded, names its limit, and changes nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMaster, type Master } from '../../master/master.js';
import type { MasterLimits } from '../../master/limits.js';
import { TaskState, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import { rawAgent, rawFramework, type RawFramework } from '../helpers/raw-clients.js';

let master: Master | undefined;
const open: { close(): void }[] = [];

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await master?.stop();
  master = undefined;
});

async function start(limits: Partial<MasterLimits>): Promise<Master> {
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100, agentReregisterTimeoutMs: 300, statusRetryMs: 100, offerTimeoutMs: 0 },
    limits,
  });
  return master;
}

function framework(address: string, name: string, failoverTimeoutS = 0): RawFramework {
  const f = rawFramework(address, { name, failoverTimeoutS });
  open.push(f);
  return f;
}

async function firstOffer(fw: RawFramework): Promise<Offer> {
  const event = await fw.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'OFFERS');
  const offer = event.event?.$case === 'offers' ? event.event.offers.offers[0] : undefined;
  if (!offer) throw new Error('empty OFFERS event');
  return offer;
}

function task(id: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 1, mem: 1024 * 1024, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'true', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}

const isUpdate = (taskId: string, state: TaskState) => (e: Event) =>
  e.event?.$case === 'update' && e.event.update.status?.taskId === taskId && e.event.update.status.state === state;

describe('records of what is gone', () => {
  it('forgets an UNREACHABLE task nobody acknowledges, and stops retrying it, after the retention period', async () => {
    const m = await start({ recordRetentionMs: 1500 });
    const agent = rawAgent(m.address, {});
    open.push(agent);
    await agent.registered;
    const fw = framework(m.address, 'forgetful', 600);
    const offer = await firstOffer(fw);
    await fw.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: [offer.id],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task('t1')] } } }],
        },
      },
    });
    await agent.received.waitFor((msg) => msg.message?.$case === 'runTask');
    agent.close();
    await fw.events.waitFor(isUpdate('t1', TaskState.TASK_UNREACHABLE), 5000, 'TASK_UNREACHABLE');
    expect(m.ctx.lostTasks.size).toBe(1);
    expect(m.view.tasks('').map((t) => t.taskId)).toEqual(['t1']);
    // Never acknowledged: after the retention the master lets it go.
    m.ctx.sweepRecords(Date.now() + 1500);
    expect(m.ctx.tasks.size).toBe(0);
    expect(m.ctx.masterUpdates.pending()).toEqual([]);
    await eventually(
      () => (m.ctx.lostTasks.prune(), m.ctx.lostTasks.size === 0),
      5000,
      'the lost task record to expire',
    );
    const retries = fw.events.items.filter(isUpdate('t1', TaskState.TASK_UNREACHABLE)).length;
    await new Promise((r) => setTimeout(r, 500));
    expect(fw.events.items.filter(isUpdate('t1', TaskState.TASK_UNREACHABLE)).length).toBe(retries);
  });

  it('keeps at most maxRecords torn-down frameworks', async () => {
    const m = await start({ maxRecords: 3 });
    for (let i = 0; i < 6; i += 1) {
      const fw = framework(m.address, `short-${i}`);
      await fw.frameworkId;
      await fw.call({ call: { $case: 'teardown', teardown: {} } });
    }
    expect(m.ctx.removedFrameworks.size).toBe(3);
    expect(m.ctx.frameworks.size).toBe(0);
  });
});

describe('a peer that stops reading', () => {
  it('an agent whose stream is not read is disconnected once its unread bytes pass the bound', async () => {
    const m = await start({ streamQueueBytes: 32 * 1024 });
    const agent = rawAgent(m.address, {});
    open.push(agent);
    const agentId = await agent.registered;
    agent.stream.pause();
    const fw = framework(m.address, 'launcher');
    // Every ACCEPT sends the agent one message per task; it reads none of them.
    for (let round = 0; round < 20 && m.ctx.agents.get(agentId)?.connection; round += 1) {
      const offer = await firstOffer(fw).catch(() => undefined);
      fw.events.clear();
      if (!offer) break;
      const taskInfos = Array.from({ length: 500 }, (_, i) => task(`r${round}-t${i}`));
      await fw
        .call({
          call: {
            $case: 'accept',
            accept: { offerIds: [offer.id], operations: [{ operation: { $case: 'launch', launch: { taskInfos } } }] },
          },
        })
        .catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
    await eventually(() => m.ctx.agents.get(agentId)?.connection === undefined, 5000, 'the agent to be disconnected');
    expect(m.ctx.agents.get(agentId)?.active).toBe(false);
    expect([...m.ctx.offers.all()].filter((o) => o.agentId === agentId)).toEqual([]);
  });
});

describe('per-principal and per-call caps', () => {
  it('refuses a principal more frameworks than frameworksPerPrincipal, changing nothing', async () => {
    const m = await start({ frameworksPerPrincipal: 3 });
    for (let i = 0; i < 3; i += 1) {
      // Subscribe, then go away: the framework lingers through its failover timeout.
      const fw = framework(m.address, `lingering-${i}`, 3600);
      await fw.frameworkId;
      fw.close();
    }
    const refused = framework(m.address, 'one-too-many');
    expect((await refused.error).message).toMatch(
      /GALAXY_E_LIMIT_EXCEEDED: user anonymous already has 3 frameworks registered.*frameworksPerPrincipal 3/,
    );
    expect(m.view.frameworks()).toHaveLength(3);
  });

  it('refuses an ACCEPT launching more than tasksPerAccept tasks, launching nothing', async () => {
    const m = await start({ tasksPerAccept: 10 });
    const agent = rawAgent(m.address, {});
    open.push(agent);
    await agent.registered;
    const fw = framework(m.address, 'greedy');
    const offer = await firstOffer(fw);
    const taskInfos = Array.from({ length: 11 }, (_, i) => task(`t${i}`));
    await expect(
      fw.call({
        call: {
          $case: 'accept',
          accept: { offerIds: [offer.id], operations: [{ operation: { $case: 'launch', launch: { taskInfos } } }] },
        },
      }),
    ).rejects.toThrow(/GALAXY_E_LIMIT_EXCEEDED: the ACCEPT launches 11 tasks; one ACCEPT may launch at most 10/);
    expect(m.ctx.tasks.size).toBe(0);
    expect(m.ctx.offers.get(offer.id)).toBeDefined();
    expect(agent.received.items.some((msg) => msg.message?.$case === 'runTask')).toBe(false);
  });
});
