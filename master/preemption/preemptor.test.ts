/**
 * Preemption through a real master over loopback gRPC, with fake agents (real gRPC, no
 * containers) and frameworks on the real SDK.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Band } from '../../core/bands.js';
import { callUnary } from '../../core/grpc-errors.js';
import { TaskState, type Resources } from '../../proto/gen/galaxy/v1/common.js';
import { ListEventsRequest, OperatorClient, type ListEventsResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { formatEvent } from '../../cli/events.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { fakeAgent } from '../../test/helpers/fake-agent.js';
import { PackingFramework, type PackingOptions } from '../../test/helpers/packing-framework.js';
import { startMaster, type Master } from '../master.js';
import type { MasterTimings } from '../timings.js';
import { channelCredentials } from '../../core/tls.js';

const MiB = 1024 ** 2;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function res(cpus: number, mem: number): Resources {
  return { cpus, mem, disk: 0, gpus: 0, ports: [] };
}

async function master(timings: Partial<MasterTimings> = {}): Promise<Master> {
  const m = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100, offerTimeoutMs: 0, ...timings },
  });
  cleanups.push(() => m.stop());
  return m;
}

async function agents(m: Master, count: number, total: Resources): Promise<string[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) => {
      const a = fakeAgent(m.address, { hostname: `host-${i}`, total });
      cleanups.push(() => {
        a.close();
      });
      return a.registered;
    }),
  );
}

async function framework(options: Omit<PackingOptions, 'master'> & { master: Master }): Promise<PackingFramework> {
  const fw = new PackingFramework({ ...options, master: options.master.address });
  cleanups.push(() => fw.stop());
  await fw.start();
  return fw;
}

/** A best-effort framework of `count` tasks that are not relaunched once preempted, all placed. */
async function placedBestEffort(
  m: Master,
  name: string,
  resources: Resources,
  count: number,
): Promise<PackingFramework> {
  const be = await framework({ master: m, name, band: Band.BAND_BEST_EFFORT, resources, count, relaunch: false });
  await eventually(() => be.placed === count, 10_000, 'best-effort tasks placed');
  return be;
}

describe('preemption', { timeout: 60_000 }, () => {
  it('a production framework that cannot place its task preempts best-effort work and gets the resources', async () => {
    const m = await master();
    const [agentId] = await agents(m, 1, res(4000, 4096 * MiB));
    const be = await placedBestEffort(m, 'crunch', res(1000, 1024 * MiB), 4);
    const web = await framework({
      master: m,
      name: 'web',
      band: Band.BAND_PRODUCTION,
      resources: res(1500, 512 * MiB),
      count: 1,
    });
    // The cluster is full: the web task cannot be placed without a preemption.
    await new Promise((r) => setTimeout(r, 300));
    expect(web.placed).toBe(0);
    const plan = await web.driver.preempt({
      requestId: 'web/web-0',
      resources: res(1500, 512 * MiB),
      band: Band.BAND_PRODUCTION,
      reason: 'pod web-0 pending',
    });
    expect(plan).toMatchObject({ granted: true, agentId, outstanding: false });
    expect(plan.victims).toHaveLength(2);
    // Asking again while it is outstanding preempts nothing more.
    const again = await web.driver.preempt({
      requestId: 'web/web-0',
      resources: res(1500, 512 * MiB),
      band: Band.BAND_PRODUCTION,
    });
    expect(again).toMatchObject({ granted: true, outstanding: true, victims: plan.victims });

    await eventually(
      () => web.placed === 1 && web.updates.some((u) => u.state === TaskState.TASK_RUNNING),
      10_000,
      'web placed',
    );
    const killed = be.preempted;
    expect(killed.map((u) => u.taskId).sort()).toEqual(plan.victims.map((v) => v.taskId).sort());
    for (const update of killed) {
      expect(update.state).toBe(TaskState.TASK_KILLED);
      expect(update.message).toContain('preempted by web (production) for web/web-0');
    }
    // The other two best-effort tasks live on.
    expect(be.updates.filter((u) => u.state === TaskState.TASK_KILLED)).toHaveLength(2);

    // The event log, over the Operator API, as `galaxy events` prints it.
    const client = new OperatorClient(m.address, channelCredentials());
    cleanups.push(() => {
      client.close();
    });
    const { events } = await callUnary<ListEventsResponse>('master', (cb) =>
      client.listEvents(ListEventsRequest.fromPartial({ kind: 'preemption' }), cb),
    );
    expect(events).toHaveLength(1);
    const [event] = events;
    if (!event) throw new Error('no event');
    const line = formatEvent(event);
    console.log(`galaxy events:\n${line}`);
    expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ preemption web\/web-0 \(production\) on agent /);
    expect(line).toContain('best-effort, 1 cpu 1 GiB');
    expect(line).toContain('reason: pod web-0 pending');
  });

  it('never preempts production tasks for a production request', async () => {
    const m = await master();
    await agents(m, 2, res(2000, 2048 * MiB));
    const old = await framework({
      master: m,
      name: 'old',
      band: Band.BAND_PRODUCTION,
      resources: res(1000, 1024 * MiB),
      count: 4,
    });
    await eventually(() => old.placed === 4, 10_000, 'production tasks placed');
    const web = await framework({
      master: m,
      name: 'web',
      band: Band.BAND_UNSPECIFIED,
      resources: res(1000, 256 * MiB),
      count: 1,
    });
    const plan = await web.driver.preempt({
      requestId: 'web/0',
      resources: res(1000, 256 * MiB),
      band: Band.BAND_UNSPECIFIED,
    });
    expect(plan.granted).toBe(false);
    expect(plan.victims).toEqual([]);
    expect(plan.refusal).toContain('below production');
    await new Promise((r) => setTimeout(r, 300));
    expect(old.updates.some((u) => u.state === TaskState.TASK_KILLED)).toBe(false);
    expect(m.events.query({ kind: 'preemption' })).toEqual([]);
  });

  it('a task placed by a preemption is immune for a while: monitoring cannot take it back at once', async () => {
    const m = await master();
    await agents(m, 1, res(2000, 2048 * MiB));
    await placedBestEffort(m, 'be', res(1000, 1024 * MiB), 2);
    const web = await framework({
      master: m,
      name: 'web',
      band: Band.BAND_PRODUCTION,
      resources: res(2000, 1024 * MiB),
      count: 1,
      preempt: true,
    });
    await eventually(() => web.updates.some((u) => u.state === TaskState.TASK_RUNNING), 10_000, 'web running');
    const mon = await framework({
      master: m,
      name: 'mon',
      band: Band.BAND_MONITORING,
      resources: res(1000, 256 * MiB),
      count: 0,
    });
    const plan = await mon.driver.preempt({
      requestId: 'mon/0',
      resources: res(1000, 256 * MiB),
      band: Band.BAND_MONITORING,
    });
    expect(plan.granted).toBe(false);
    expect(web.preempted).toHaveLength(0);
    expect(m.events.query({ kind: 'preemption' })).toHaveLength(1);
  });

  it('rate-limits victims with a token bucket', async () => {
    const m = await master({ preemptionBurst: 2, preemptionRatePerS: 0.001 });
    await agents(m, 1, res(4000, 4096 * MiB));
    await placedBestEffort(m, 'be', res(1000, 512 * MiB), 4);
    const web = await framework({
      master: m,
      name: 'web',
      band: Band.BAND_PRODUCTION,
      resources: res(3000, 512 * MiB),
      count: 0,
    });
    const plan = await web.driver.preempt({
      requestId: 'big',
      resources: res(3000, 512 * MiB),
      band: Band.BAND_PRODUCTION,
    });
    expect(plan).toMatchObject({ granted: false, refusal: expect.stringContaining('rate limited') as unknown });
    const small = await web.driver.preempt({
      requestId: 'small',
      resources: res(2000, 512 * MiB),
      band: Band.BAND_PRODUCTION,
    });
    expect(small.granted).toBe(true);
    expect(small.victims).toHaveLength(2);
  });

  it('a dry run names the victims a real run then kills, and kills, sets aside, keeps and spends nothing', async () => {
    // Two tokens: a dry run that spent them would leave the real run rate-limited.
    const m = await master({ preemptionBurst: 2, preemptionRatePerS: 0.001 });
    const [agentId] = await agents(m, 1, res(2000, 2048 * MiB));
    const be = await placedBestEffort(m, 'be', res(1000, 1024 * MiB), 2);
    const web = await framework({
      master: m,
      name: 'web',
      band: Band.BAND_PRODUCTION,
      resources: res(2000, 1024 * MiB),
      count: 0,
    });
    const request = { requestId: 'web/0', resources: res(2000, 1024 * MiB), band: Band.BAND_PRODUCTION };
    const dry = await web.driver.preempt({ ...request, dryRun: true });
    expect(dry).toMatchObject({ granted: true, dryRun: true, agentId, hostname: 'host-0', outstanding: false });
    expect(dry.victims).toHaveLength(2);
    // Asked again and again: the same answer, never outstanding, never rate-limited.
    for (let i = 0; i < 3; i += 1)
      expect(await web.driver.preempt({ ...request, dryRun: true })).toMatchObject({
        granted: true,
        outstanding: false,
        victims: dry.victims,
      });
    // Counting one victim as taken already (a plan's earlier pod), a dry run picks the other task;
    // only dry runs may say so.
    const half = { ...request, requestId: 'web/2', resources: res(1000, 512 * MiB), dryRun: true };
    const first = await web.driver.preempt(half);
    expect(first.victims).toHaveLength(1);
    const second = await web.driver.preempt({ ...half, assumePreempted: first.victims });
    expect(second.victims).toHaveLength(1);
    expect(second.victims[0]?.taskId).not.toBe(first.victims[0]?.taskId);
    await expect(web.driver.preempt({ ...half, dryRun: false, assumePreempted: first.victims })).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_ARGUMENT',
    });
    // A refusal answers as for a real call.
    const tooBig = await web.driver.preempt({
      ...request,
      requestId: 'web/1',
      resources: res(4000, 1024 * MiB),
      dryRun: true,
    });
    expect(tooBig).toMatchObject({ granted: false, dryRun: true, victims: [] });
    expect(tooBig.refusal).toContain('no agent has room');

    await new Promise((r) => setTimeout(r, 300));
    expect(be.updates.some((u) => u.state === TaskState.TASK_KILLED)).toBe(false);
    expect(m.events.query({ kind: 'preemption' })).toEqual([]);

    // The real run: not outstanding (the dry run kept nothing), not rate-limited (it took no token),
    // and it kills exactly the victims the dry run named.
    const real = await web.driver.preempt(request);
    expect(real).toMatchObject({ granted: true, dryRun: false, outstanding: false, agentId });
    expect(real.victims.map((v) => v.taskId).sort()).toEqual(dry.victims.map((v) => v.taskId).sort());
    await eventually(() => be.preempted.length === 2, 10_000, 'victims killed');
    expect(be.preempted.map((u) => u.taskId).sort()).toEqual(dry.victims.map((v) => v.taskId).sort());
    expect(m.events.query({ kind: 'preemption' })).toHaveLength(1);
  });

  it('100 production tasks on a cluster full of best-effort work: as many preemptions as needed, no cascade', async () => {
    const m = await master({ preemptionBurst: 100, preemptionRatePerS: 200 });
    // 30 agents of 4 cpus and 4 GiB, each full with eight best-effort tasks of 0.5 cpu and 512 MiB.
    const AGENTS = 30;
    await agents(m, AGENTS, res(4000, 4096 * MiB));
    const be = await framework({
      master: m,
      name: 'be',
      band: Band.BAND_BEST_EFFORT,
      resources: res(500, 512 * MiB),
      count: AGENTS * 8,
    });
    await eventually(() => be.placed === AGENTS * 8, 20_000, 'the cluster full of best-effort work');
    // 100 production tasks of 1 cpu and 512 MiB. Nothing is free, so each needs the cpu of
    // exactly two best-effort tasks (0.5 cpu each): the minimum is 2 victims per task.
    const COUNT = 100;
    const minimum = COUNT * Math.ceil(1000 / 500);
    const prod = await framework({
      master: m,
      name: 'prod',
      band: Band.BAND_PRODUCTION,
      resources: res(1000, 512 * MiB),
      count: COUNT,
      preempt: true,
      preemptAfterMs: 200,
    });
    await eventually(
      () => prod.updates.filter((u) => u.state === TaskState.TASK_RUNNING).length >= COUNT && prod.placed === COUNT,
      40_000,
      'all production tasks running',
    );
    const victims = m.events.query({ kind: 'preemption' }).reduce((n, e) => n + (e.preemption?.victims.length ?? 0), 0);
    console.log(`100 production tasks: ${victims} victims (minimum ${minimum})`);
    expect(victims).toBeGreaterThanOrEqual(minimum);
    expect(victims).toBeLessThanOrEqual(Math.floor(minimum * 1.1) + 1);
    // Every victim's framework heard TASK_KILLED with reason preempted (its handlers may lag).
    await eventually(() => be.preempted.length >= victims, 10_000, 'preempted updates');
    expect(be.preempted).toHaveLength(victims);
    expect(be.preempted.every((u) => u.state === TaskState.TASK_KILLED)).toBe(true);
    // No production task was ever preempted.
    expect(prod.preempted).toHaveLength(0);
  });
});
