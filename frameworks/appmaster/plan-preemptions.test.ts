/**
 * `galaxy job plan`'s would-be preemptions: the real AppMaster against a real master (loopback
 * gRPC) and a fake agent full of batch work. A production job's plan names the batch tasks the
 * master would preempt for each pod with no room, at most {@link PLAN_PREEMPTIONS_MAX} pods per
 * plan; a batch or best-effort job's names none; and afterwards every batch task still runs. The
 * plan is also read through the CLI (`galaxy job plan`, text and `-o json`) over the AppMaster's API.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { renderPlan } from '../../cli/job-view.js';
import { Band } from '../../core/bands.js';
import { startMaster } from '../../master/master.js';
import type { JobPlan } from '../../proto/gen/galaxy/v1/appmaster.js';
import { TaskState, type Resources } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { fakeAgent } from '../../test/helpers/fake-agent.js';
import { PackingFramework } from '../../test/helpers/packing-framework.js';
import { GALAXY_BIN } from '../../test/helpers/processes.js';
import { serveAppMasterApi } from './api.js';
import { startOneAgentCluster, startRealAppMaster } from '../../test/helpers/real-appmaster.js';
import { PLAN_PREEMPTIONS_MAX, podsToAskFor } from './plan-preemptions.js';

const MiB = 1024 ** 2;
const run = promisify(execFile);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function res(cpus: number, mem: number): Resources {
  return { cpus, mem, disk: 0, gpus: 0, ports: [] };
}

function spec(name: string, band: string, replicas: number): string {
  return JSON.stringify({
    name,
    band,
    replicas,
    resources: { cpu: { millicores: '1000m' }, memory: { hard: '512Mi' } },
    package: { source: 'file:///pkg/web.tar.gz', version: '1', sha256: 'a'.repeat(64) },
    commands: { start: './run' },
  });
}

describe('podsToAskFor', () => {
  const placements = (n: number) => Array.from({ length: n }, (_, i) => ({ podId: `(new ${i + 1})`, hostname: '' }));
  const short = [{ reason: 'insufficient cpu (needs 1000m)', hosts: 1 }];

  it('asks for the pods with no room of a preempting band, at most the bound', () => {
    expect(podsToAskFor({ placements: placements(3), unplaced: short }, { band: 'service' })).toEqual({
      podIds: ['(new 1)', '(new 2)', '(new 3)'],
      skipped: 0,
    });
    const many = podsToAskFor({ placements: placements(PLAN_PREEMPTIONS_MAX + 5), unplaced: short }, { band: 'batch' });
    expect(many.podIds).toHaveLength(PLAN_PREEMPTIONS_MAX);
    expect(many.skipped).toBe(5);
  });

  it('asks for none of best-effort, of pods that fit, or when labels or pools are what is missing', () => {
    expect(podsToAskFor({ placements: placements(2), unplaced: short }, { band: 'best-effort' }).podIds).toEqual([]);
    expect(
      podsToAskFor({ placements: [{ podId: 'web-0', hostname: 'host-a' }], unplaced: [] }, { band: 'service' }).podIds,
    ).toEqual([]);
    const labels = [{ reason: 'missing label zone=b', hosts: 1 }];
    expect(podsToAskFor({ placements: placements(1), unplaced: labels }, { band: 'service' }).podIds).toEqual([]);
  });
});

/** A batch framework whose two tasks of 1 cpu fill the agent; the agent's running task ids. */
async function fillWithBatch(master: Awaited<ReturnType<typeof startMaster>>, agent: ReturnType<typeof fakeAgent>) {
  const batch = new PackingFramework({
    master: master.address,
    name: 'crunch',
    band: Band.BAND_BATCH,
    resources: res(1000, 1024 * MiB),
    count: 2,
    relaunch: false,
  });
  cleanups.push(() => batch.stop());
  await batch.start();
  await eventually(() => batch.placed === 2, 10_000, 'batch work fills the agent');
  await eventually(
    () => batch.updates.filter((u) => u.state === TaskState.TASK_RUNNING).length === 2,
    10_000,
    'batch tasks running',
  );
  const runningTasks = () => [...agent.running.values()].map((t) => t.taskId).sort();
  const batchTasks = runningTasks();
  expect(batchTasks).toHaveLength(2);

  return { batch, batchTasks, runningTasks };
}

/** The real AppMaster, subscribed to `master`, on a local coordinator in a fresh directory. */
async function startAppMaster(master: Awaited<ReturnType<typeof startMaster>>) {
  return startRealAppMaster(master.address, cleanups);
}

describe('job plan: would-be preemptions', { timeout: 60_000 }, () => {
  it("names the batch tasks a production job would preempt, none for a batch job's, and preempts nothing", async () => {
    const { master, agent } = await startOneAgentCluster(cleanups);
    const { batch, batchTasks, runningTasks } = await fillWithBatch(master, agent);
    const { appmaster, dir } = await startAppMaster(master);

    // A production job of two pods: no room, so each pod's dry run names one batch task on host-a.
    const plan = await eventually(
      async () => {
        const p = await appmaster.plan(spec('web', 'service', 2));
        return p.wouldPreempt.length === 2 && p.wouldPreempt.every((w) => w.granted) ? p : undefined;
      },
      10_000,
      'a plan with would-be preemptions',
    );
    expect(plan.wouldPreemptSkipped).toBe(0);
    for (const pod of plan.wouldPreempt) {
      expect(pod).toMatchObject({ granted: true, hostname: 'host-a', refusal: '' });
      expect(pod.victims).toHaveLength(1);
      expect(pod.victims[0]).toMatchObject({ band: Band.BAND_BATCH, frameworkId: batch.driver.frameworkId });
      expect(batchTasks).toContain(pod.victims[0]?.taskId);
    }
    // Each pod counts the victims named for the pods before it: two pods, two different victims.
    expect(plan.wouldPreempt.map((w) => w.victims[0]?.taskId).sort()).toEqual(batchTasks);
    // The same through the CLI over the AppMaster's gRPC API, as text and as JSON.
    const api = await serveAppMasterApi(appmaster, '127.0.0.1:0');
    cleanups.push(() => api.stop());
    const file = join(dir, 'web.json');
    await writeFile(file, spec('web', 'service', 2));
    const galaxyJob = async (...args: string[]) =>
      (
        await run(process.execPath, [GALAXY_BIN, 'job', ...args, '--appmaster', api.address], {
          env: { ...process.env, NO_COLOR: '1', GALAXY_LOG_LEVEL: 'warn' },
          timeout: 30_000,
        })
      ).stdout;
    const text = await galaxyJob('plan', file);
    console.log(`$ galaxy job plan web.json\n${text}`);
    expect(text).toMatch(/\(new 1\): would preempt on host-a: task \S+ \(batch, framework \S+\)/);
    expect(text).toMatch(/\(new 2\): would preempt on host-a: task \S+ \(batch, framework \S+\)/);
    const json = JSON.parse(await galaxyJob('plan', file, '-o', 'json')) as JobPlan;
    expect(json.wouldPreempt.map((w) => [w.podId, w.hostname, w.victims.length])).toEqual([
      ['(new 1)', 'host-a', 1],
      ['(new 2)', 'host-a', 1],
    ]);
    expect(json.wouldPreempt.map((w) => w.victims[0]?.taskId).sort()).toEqual(batchTasks);

    // More pods than the bound: only that many dry runs, the rest counted.
    const big = await appmaster.plan(spec('web', 'service', PLAN_PREEMPTIONS_MAX + 3));
    expect(big.wouldPreempt).toHaveLength(PLAN_PREEMPTIONS_MAX);
    expect(big.wouldPreemptSkipped).toBe(3);
    expect(renderPlan(big, 'table')).toContain('3 more pod(s) not asked');

    // A batch job's plan names no victims (batch does not preempt batch); best-effort asks nothing.
    const batchPlan = await appmaster.plan(spec('crunch2', 'batch', 1));
    expect(batchPlan.wouldPreempt).toHaveLength(1);
    expect(batchPlan.wouldPreempt[0]).toMatchObject({ granted: false, victims: [] });
    expect(batchPlan.wouldPreempt[0]?.refusal).toContain('below batch');
    expect(renderPlan(batchPlan, 'table')).toContain('would not preempt: no agent has room');
    const bePlan = await appmaster.plan(spec('scratch', 'best-effort', 1));
    expect(bePlan.wouldPreempt).toEqual([]);
    expect(renderPlan(bePlan, 'table')).not.toContain('would preempt');

    // Nothing was preempted, set aside or logged, and no job was made.
    await new Promise((r) => setTimeout(r, 500));
    expect(runningTasks()).toEqual(batchTasks);
    expect(batch.updates.some((u) => u.state === TaskState.TASK_KILLED)).toBe(false);
    expect(batch.preempted).toEqual([]);
    expect(master.events.query({ kind: 'preemption' })).toEqual([]);
    expect((await appmaster.list()).map((j) => j.name)).toEqual([]);
  });

  it('plans against new offers when those it saw are old: batch work that came since is preempted in the plan', async () => {
    const { master, agent } = await startOneAgentCluster(cleanups);
    // The AppMaster sees the empty agent first (and, with nothing to launch, declines it)...
    const { appmaster } = await startAppMaster(master);
    await eventually(
      async () =>
        (await appmaster.plan(spec('web', 'service', 1))).placements[0]?.hostname === 'host-a' ? true : undefined,
      10_000,
      'a plan placing on the empty agent',
    );
    // ...then batch work fills it. Offers seen before that would place the pods with no preemption.
    const { batchTasks } = await fillWithBatch(master, agent);
    await new Promise((r) => setTimeout(r, 3500));
    const plan = await appmaster.plan(spec('web', 'service', 2));
    expect(plan.offersAgeS).toBeLessThan(3.5);
    expect(plan.wouldPreempt.map((w) => w.granted)).toEqual([true, true]);
    expect(plan.wouldPreempt.map((w) => w.victims[0]?.taskId).sort()).toEqual(batchTasks);
  });
});
