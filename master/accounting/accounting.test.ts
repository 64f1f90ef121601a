/**
 * The ledger adds up: a real in-process master over gRPC, two agents in two pools, frameworks of
 * several users' roles (one multi-role, acting for users: each task is its role's owner's; a label
 * naming another user changes nothing) running tasks for a few seconds, some ending halfway. The per-user rows must sum to the cluster's allocated
 * resource-seconds — integrated on its own from the agents' totals — within 1 %, and each user's
 * allocation must match what its tasks held for as long as they held it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorClient, type Operator } from '../../cli/operator-client.js';
import { renderUsage } from '../../cli/machines.js';
import {
  FrameworkCapability,
  StatusSource,
  TaskState,
  type Offer,
  type TaskInfo,
} from '../../proto/gen/galaxy/v1/common.js';
import type { MasterMessage } from '../../proto/gen/galaxy/v1/agent.js';
import { runRequests } from '../../agent/master-messages.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../../test/helpers/raw-clients.js';
import { startMaster, type Master } from '../master.js';

const MIB = 1024 ** 2;
let master: Master;
let op: Operator;
const open: { close(): void }[] = [];

/** An agent that runs nothing but reports what the master launches as RUNNING and answers usage requests. */
function fakeAgent(hostname: string, pool: string): { agent: RawAgent; running: Map<string, string> } {
  const agent = rawAgent(master.address, { hostname, pool, reservations: [] });
  open.push(agent);
  const running = new Map<string, string>(); // task id → framework id
  agent.stream.on('data', (m: MasterMessage) => {
    const body = m.message;
    // An ACCEPT of several tasks comes as one runTasks message.
    for (const { framework, task } of runRequests(m)) {
      if (!task) continue;
      running.set(task.taskId, framework?.id ?? '');
      agent.send(statusOf(framework?.id ?? '', task.taskId, TaskState.TASK_RUNNING));
    }
    if (body?.$case === 'usageRequest') {
      const tasks = [...running].map(([taskId, frameworkId]) => ({
        frameworkId,
        taskId,
        agentId: '',
        usage: usage(),
      }));
      agent.send({ message: { $case: 'usage', usage: { requestId: body.usageRequest.requestId, tasks } } });
    }
  });
  return { agent, running };
}

const started = Date.now();
function usage() {
  return {
    cpuSeconds: (Date.now() - started) / 2000, // half a core
    cpuThrottledSeconds: 0,
    memBytes: 32 * MIB,
    memMaxBytes: 32 * MIB,
    pids: 1,
    pidsLimitHits: 0,
    diskBytes: 0,
    diskReadBytes: 0,
    diskWriteBytes: 0,
    netTxBytes: 0,
    netRxBytes: 0,
    cpuLentMillicores: 0,
  };
}

function statusOf(frameworkId: string, taskId: string, state: TaskState) {
  return {
    message: {
      $case: 'statusUpdate' as const,
      statusUpdate: {
        status: {
          taskId,
          frameworkId,
          agentId: '',
          state,
          reason: '',
          message: '',
          source: StatusSource.SOURCE_AGENT,
          timestamp: Date.now() / 1000,
          uuid: `${taskId}-${state}`,
        },
      },
    },
  };
}

function task(id: string, cpus: number, mem: number, user?: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus, mem, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'sleep 60', argv: [], env: {}, user: '' },
    labels: user ? [{ key: 'galaxy.user', value: user }] : [],
    killGraceS: 1,
    volumes: [],
  };
}

/**
 * Launches `tasks` on the first offer the framework gets (DRF decides where) of `role` (any when
 * ''), then suppresses that role; returns the agent id.
 */
async function launch(fw: RawFramework, tasks: TaskInfo[], role = ''): Promise<string> {
  const offersOf = (e: { event?: { $case: string; offers?: { offers: Offer[] } } }) =>
    (e.event?.$case === 'offers' ? (e.event.offers?.offers ?? []) : []).filter(
      (o) => role === '' || o.allocationRole === role,
    );
  for (;;) {
    const event = await fw.events.waitFor((e) => offersOf(e).length > 0, 10_000, 'an offer');
    const offer = offersOf(event)[0];
    fw.events.clear();
    if (!offer) continue;
    try {
      await fw.call({
        call: {
          $case: 'accept',
          accept: {
            offerIds: [offer.id],
            operations: [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }],
            filters: { refuseSeconds: 0 },
          },
        },
      });
      // Done: no more offers to this role, so they go to the others.
      await fw.call({ call: { $case: 'suppress', suppress: { roles: role === '' ? [] : [role] } } });
      return offer.agentId;
    } catch {
      // The offer timed out meanwhile: wait for the next.
    }
  }
}

beforeAll(async () => {
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 50, offerTimeoutMs: 150, statusRetryMs: 200 },
    accounting: { sampleMs: 250, flushMs: 500 },
  });
  op = operatorClient(master.address);
});

afterAll(async () => {
  op.close();
  for (const c of open.splice(0)) c.close();
  await master.stop();
});

describe('accounting', { timeout: 40_000 }, () => {
  it('the ledger adds up: per-user resource-seconds equal the cluster allocated ±1 %', async () => {
    const small = fakeAgent('acct-a', 'default');
    const big = fakeAgent('acct-b', 'batch');
    await small.agent.registered;
    const idB = await big.agent.registered;
    const roles = [['alice'], ['bob'], ['appmaster', 'carol'], ['*']];
    const fws = roles.map((r) => {
      const fw = rawFramework(master.address, { name: `fw-${r.join('+')}`, role: '', roles: r }, true);
      open.push(fw);
      return fw;
    });
    const [alice, bob, shared, anon] = fws as [RawFramework, RawFramework, RawFramework, RawFramework];
    const t0 = Date.now();
    const where = {
      alice: await launch(alice, [task('a1', 1000, 256 * MIB), task('a2', 500, 128 * MIB)]),
      bob: await launch(bob, [task('b1', 2000, 512 * MIB)]),
      // The label names someone else: a task is its role's owner's, whatever a framework labels it.
      shared: await launch(shared, [task('c1', 250, 64 * MIB, 'mallory')], 'carol'),
      sharedOwn: await launch(shared, [task('s1', 100, 32 * MIB)], 'appmaster'),
      anon: await launch(anon, [task('u1', 100, 16 * MIB)]),
    };
    const poolOf = (agentId: string) => (agentId === idB ? 'batch' : 'default');
    const agentOf = (agentId: string) => (agentId === idB ? big : small);
    await new Promise((r) => setTimeout(r, 1500));
    // Some tasks end halfway: a2 finishes, b1 fails.
    const aliceId = await alice.frameworkId;
    const bobId = await bob.frameworkId;
    agentOf(where.alice).agent.send(statusOf(aliceId, 'a2', TaskState.TASK_FINISHED));
    agentOf(where.bob).agent.send(statusOf(bobId, 'b1', TaskState.TASK_FAILED));
    agentOf(where.alice).running.delete('a2');
    agentOf(where.bob).running.delete('b1');
    await new Promise((r) => setTimeout(r, 1500));

    const report = await op.getAccounting({ user: '', pool: '', sinceS: 3600 });
    const elapsedS = (Date.now() - t0) / 1000;
    const sum = (pick: (r: (typeof report.rows)[number]) => number) => report.rows.reduce((s, r) => s + pick(r), 0);
    const cluster = report.clusterAllocated ?? { cpuMs: 0, memBs: 0, diskBs: 0 };
    expect(cluster.cpuMs).toBeGreaterThan(0);
    expect(Math.abs(sum((r) => r.allocated?.cpuMs ?? 0) - cluster.cpuMs) / cluster.cpuMs).toBeLessThan(0.01);
    expect(Math.abs(sum((r) => r.allocated?.memBs ?? 0) - cluster.memBs) / cluster.memBs).toBeLessThan(0.01);

    const row = (user: string) => report.rows.find((r) => r.user === user);
    expect(report.rows.map((r) => `${r.user}/${r.pool}`).sort()).toEqual(
      [
        `alice/${poolOf(where.alice)}`,
        `appmaster/${poolOf(where.sharedOwn)}`,
        `bob/${poolOf(where.bob)}`,
        `carol/${poolOf(where.shared)}`,
        // The "*" role is nobody's: its tasks are the framework owner's (an open master's caller).
        `anonymous/${poolOf(where.anon)}`,
      ].sort(),
    );
    // alice: a1 (1000m) the whole time, a2 (500m) about half of it.
    const aliceCpuS = (row('alice')?.allocated?.cpuMs ?? 0) / 1000;
    expect(aliceCpuS).toBeGreaterThan(1.0 * 2.5);
    expect(aliceCpuS).toBeLessThan(1.0 * elapsedS + 0.5 * 1.8);
    // bob held 2 cores for about 1.5 s only.
    const bobCpuS = (row('bob')?.allocated?.cpuMs ?? 0) / 1000;
    expect(bobCpuS).toBeGreaterThan(2 * 1.3);
    expect(bobCpuS).toBeLessThan(2 * 2.2);
    // Usage came from the agents' reports.
    expect(row('alice')?.used?.memBs ?? 0).toBeGreaterThan(0);
    expect(row('carol')?.used?.cpuMs ?? 0).toBeGreaterThan(0);
    // One user, one pool.
    const batchOnly = await op.getAccounting({ user: '', pool: 'batch', sinceS: 3600 });
    expect(batchOnly.rows.every((r) => r.pool === 'batch')).toBe(true);
    const batchRows = batchOnly.rows.reduce((sum, r) => sum + (r.allocated?.cpuMs ?? 0), 0);
    expect(Math.abs(batchRows - (batchOnly.clusterAllocated?.cpuMs ?? 0))).toBeLessThanOrEqual(0.01 * cluster.cpuMs);
    const bobOnly = await op.getAccounting({ user: 'bob', pool: '', sinceS: 3600 });
    expect(bobOnly.rows.map((r) => r.user)).toEqual(['bob']);
    console.log(`galaxy usage --since 1h:\n${renderUsage(report, 'table')}`);
  });

  it('counts a task on revocable resources apart: in the row’s revocable part, not allocated nor the cluster’s', async () => {
    const lender = fakeAgent('acct-lend', 'lend');
    const lenderId = await lender.agent.registered;
    // The agent lends 2 cores and 1 GiB (what its estimator would say of idle regular tasks).
    lender.agent.send({
      message: {
        $case: 'revocableEstimate',
        revocableEstimate: { resources: { cpus: 2000, mem: 1024 * MIB, disk: 0, gpus: 0, ports: [] } },
      },
    });
    const fw = rawFramework(
      master.address,
      {
        name: 'fw-dave',
        role: '',
        roles: ['dave'],
        capabilities: { values: [FrameworkCapability.REVOCABLE_RESOURCES] },
      },
      true,
    );
    open.push(fw);
    const accept = async (revocable: boolean, info: TaskInfo): Promise<void> => {
      // Both on the lender, so that both count in one row (user dave, pool lend).
      const fits = (o: Offer) => o.agentId === lenderId && (o.revocable === true) === revocable;
      for (;;) {
        const event = await fw.events.waitFor(
          (e) => e.event?.$case === 'offers' && e.event.offers.offers.some(fits),
          10_000,
          revocable ? 'a revocable offer' : 'a regular offer',
        );
        const offer = (event.event?.$case === 'offers' ? event.event.offers.offers : []).find(fits);
        fw.events.clear();
        if (!offer) continue;
        try {
          await fw.call({
            call: {
              $case: 'accept',
              accept: {
                offerIds: [offer.id],
                operations: [{ operation: { $case: 'launch', launch: { taskInfos: [info] } } }],
                filters: { refuseSeconds: 0 },
              },
            },
          });
          return;
        } catch {
          // The offer timed out or was rescinded meanwhile: wait for the next.
        }
      }
    };
    const before = await op.getAccounting({ user: '', pool: '', sinceS: 3600 });
    const t0 = Date.now();
    await accept(false, task('d-regular', 1000, 256 * MIB));
    await accept(true, { ...task('d-lent', 2000, 512 * MIB), onRevocable: true });
    await fw.call({ call: { $case: 'suppress', suppress: { roles: [] } } });
    await new Promise((r) => setTimeout(r, 2000));
    const report = await op.getAccounting({ user: 'dave', pool: '', sinceS: 3600 });
    const elapsedS = (Date.now() - t0) / 1000;
    expect(report.rows).toHaveLength(1);
    const dave = report.rows[0];
    // The regular task's 1 core in allocated, the lent 2 cores in revocable only.
    const allocatedS = (dave?.allocated?.cpuMs ?? 0) / 1000;
    const revocableS = (dave?.revocable?.cpuMs ?? 0) / 1000;
    expect(allocatedS).toBeGreaterThan(1 * 1.8);
    expect(allocatedS).toBeLessThan(1 * elapsedS + 0.1);
    expect(revocableS).toBeGreaterThan(2 * 1.8);
    expect(revocableS).toBeLessThan(2 * elapsedS + 0.1);
    expect((dave?.revocable?.memBs ?? 0) / (512 * MIB)).toBeGreaterThan(1.8);
    // The cluster's allocated total grew by the regular task's only, as the rows' allocated sums.
    const all = await op.getAccounting({ user: '', pool: '', sinceS: 3600 });
    const sumAllocated = all.rows.reduce((n, r) => n + (r.allocated?.cpuMs ?? 0), 0);
    const cluster = all.clusterAllocated?.cpuMs ?? 0;
    expect(Math.abs(sumAllocated - cluster) / cluster).toBeLessThan(0.01);
    expect(cluster - (before.clusterAllocated?.cpuMs ?? 0)).toBeLessThan(
      sumAllocated - before.rows.reduce((n, r) => n + (r.allocated?.cpuMs ?? 0), 0) + 0.01 * cluster,
    );
    const table = renderUsage(report, 'table');
    expect(table).toContain('CPU CORE-H REVOCABLE');
    console.log(`galaxy usage --user dave:\n${table}`);
  });
});
