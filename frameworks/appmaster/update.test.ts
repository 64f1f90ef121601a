/**
 * The rolling update's decisions, on hand-made pods: step, interval, breakpoint, failures, done.
 * And the AppWorker actions that follow from a pod's target and report.
 */
import { describe, expect, it } from 'vitest';
import { WorkerAction, WorkerReport } from '../../proto/gen/galaxy/v1/appmaster.js';
import { nextAction } from './actions.js';
import { newRuntime, type JobRecord, type Pod } from './model.js';
import { JobSpecSchema, type JobSpec } from './spec/schema.js';
import { pauseText, planUpdate } from './update.js';

const SHA = 'a'.repeat(64);

function spec(version: string, deploy: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): JobSpec {
  return JobSpecSchema.parse({
    name: 'web',
    replicas: 3,
    resources: { cpu: { millicores: 100 }, memory: { hard: '64Mi' } },
    package: { source: 'file:///p.tgz', version, sha256: SHA },
    commands: { start: 'run', reload: 'reload' },
    deploy: { step: 1, intervalS: 0, ...deploy },
    ...extra,
  });
}

function job(deploy: Record<string, unknown> = {}, to = spec('2', deploy)): JobRecord {
  return {
    name: 'web',
    revision: 2,
    specs: { 1: spec('1', deploy), 2: to },
    state: 'running',
    submittedAt: 0,
    update: {
      from: 1,
      to: 2,
      kind: 'rebuild',
      pause: undefined,
      breakpointPassed: false,
      rollingBack: false,
      failed: [],
      startedAt: 0,
    },
    pods: [],
    nextIndex: 3,
    hostFailures: {},
  };
}

/** A pod targeting `revision`, whose worker reports `applied` in `phase` with `health`. */
function pod(index: number, revision: number, applied: number, health = 'healthy', phase = 'running'): Pod {
  const runtime = newRuntime();
  runtime.report = WorkerReport.fromPartial({ phase, revision: applied, dataRevision: applied, health });
  runtime.healthySince = health === 'healthy' && phase === 'running' && applied === revision ? 1 : 0;
  return {
    record: {
      podId: `web-${index}`,
      index,
      revision,
      containerRevision: 1,
      taskId: `web-${index}.t`,
      agentId: 'a1',
      hostname: 'h1',
      ports: {},
      launchedAt: 1,
      retargetedAt: 1000,
    },
    runtime,
  };
}

describe('planUpdate', () => {
  it('moves one pod at a time with step 1 and waits for it to be healthy', () => {
    const j = job();
    expect(planUpdate(j, [pod(0, 1, 1), pod(1, 1, 1), pod(2, 1, 1)], 2000).retarget).toEqual(['web-0']);
    // web-0 is moving (deploying): nothing else moves yet.
    expect(planUpdate(j, [pod(0, 2, 1, 'unknown', 'deploying'), pod(1, 1, 1), pod(2, 1, 1)], 2000).retarget).toEqual(
      [],
    );
    // web-0 is healthy at 2: the next one goes.
    expect(planUpdate(j, [pod(0, 2, 2), pod(1, 1, 1), pod(2, 1, 1)], 2000).retarget).toEqual(['web-1']);
  });

  it('moves `step` pods at once, unhealthy ones first', () => {
    const j = job({ step: 2 });
    const plan = planUpdate(j, [pod(0, 1, 1), pod(1, 1, 1), pod(2, 1, 1, 'unhealthy')], 2000);
    expect(plan.retarget).toEqual(['web-2', 'web-0']);
  });

  it('holds the next step until the updated pod has been healthy for intervalS', () => {
    const j = job({ intervalS: 5 });
    const moved = pod(0, 2, 2);
    moved.runtime.healthySince = 1000;
    expect(planUpdate(j, [moved, pod(1, 1, 1), pod(2, 1, 1)], 3000).retarget).toEqual([]);
    expect(planUpdate(j, [moved, pod(1, 1, 1), pod(2, 1, 1)], 6000).retarget).toEqual(['web-1']);
  });

  it('pauses at the breakpoint and goes on once it is passed', () => {
    const j = job({ breakpoint: 1 });
    const pods = [pod(0, 2, 2), pod(1, 1, 1), pod(2, 1, 1)];
    const plan = planUpdate(j, pods, 2000);
    expect(plan).toMatchObject({ retarget: [], pause: { reason: 'breakpoint', pods: 1 } });
    expect(plan.pause && pauseText(plan.pause)).toBe('breakpoint after 1 pod');
    if (j.update) j.update.breakpointPassed = true;
    expect(planUpdate(j, pods, 2000).retarget).toEqual(['web-1']);
  });

  it('never moves more pods than the breakpoint before pausing', () => {
    const j = job({ step: 3, breakpoint: 1 });
    expect(planUpdate(j, [pod(0, 1, 1), pod(1, 1, 1), pod(2, 1, 1)], 2000).retarget).toEqual(['web-0']);
  });

  it('reports failures: a failed deploy, an unhealthy pod, a crash loop, a deploy timeout', () => {
    const j = job({ maxFailures: 10, deployTimeoutS: 5 });
    const plan = planUpdate(
      j,
      [
        pod(0, 2, 1, 'unknown', 'failed'),
        pod(1, 2, 2, 'unhealthy'),
        pod(2, 2, 2, 'unknown', 'delayed'),
        pod(3, 2, 1, 'unknown', 'deploying'),
      ],
      1000 + 6000,
    );
    expect(plan.newlyFailed).toEqual(['web-0', 'web-1', 'web-2', 'web-3']);
    expect(plan.failed).toBe(false);
  });

  it('does not hold a failed deploy of the old target against a pod rolled back to what it runs', () => {
    const j = job({ maxFailures: 1 });
    expect(planUpdate(j, [pod(0, 2, 2, 'healthy', 'failed'), pod(1, 1, 1), pod(2, 1, 1)], 2000).failed).toBe(false);
  });

  it('fails the update at maxFailures', () => {
    const j = job({ maxFailures: 1 });
    expect(planUpdate(j, [pod(0, 2, 2, 'unhealthy'), pod(1, 1, 1), pod(2, 1, 1)], 2000)).toMatchObject({
      failed: true,
      newlyFailed: ['web-0'],
    });
  });

  it('is done when every pod is updated, and does nothing while paused', () => {
    const j = job();
    expect(planUpdate(j, [pod(0, 2, 2), pod(1, 2, 2), pod(2, 2, 2)], 2000).done).toBe(true);
    if (j.update) j.update.pause = { reason: 'user' };
    expect(planUpdate(j, [pod(0, 1, 1), pod(1, 1, 1), pod(2, 1, 1)], 2000).retarget).toEqual([]);
  });
});

describe('nextAction', () => {
  it('deploys a fresh pod, starts a deployed one, and leaves a running one alone', () => {
    const j = job();
    const fresh = pod(0, 2, 0, 'unknown', 'new');
    fresh.runtime.report = undefined;
    expect(nextAction(j, fresh).action).toBe(WorkerAction.ACTION_DEPLOY);
    expect(nextAction(j, pod(0, 2, 2, 'unknown', 'deployed')).action).toBe(WorkerAction.ACTION_START);
    expect(nextAction(j, pod(0, 2, 2)).action).toBe(WorkerAction.ACTION_NONE);
    expect(nextAction(j, pod(0, 2, 1, 'unknown', 'deploying')).action).toBe(WorkerAction.ACTION_NONE);
  });

  it('rebuilds in place for a new version and reloads for new data only', () => {
    expect(nextAction(job(), pod(0, 2, 1))).toEqual({ action: WorkerAction.ACTION_REBUILD, revision: 2 });
    const dataOnly = spec(
      '1',
      {},
      {
        data: [{ name: 'd', source: 'file:///d.tgz', version: '2', sha256: SHA, dest: 'data' }],
      },
    );
    expect(nextAction(job({}, dataOnly), pod(0, 2, 1))).toEqual({ action: WorkerAction.ACTION_RELOAD, revision: 2 });
  });

  it('confirms the target to a worker whose deploy of another revision failed (a rollback)', () => {
    expect(nextAction(job(), pod(0, 2, 2, 'healthy', 'failed'))).toEqual({
      action: WorkerAction.ACTION_DEPLOY,
      revision: 2,
    });
  });

  it('stops the service of a pod being killed', () => {
    const p = pod(0, 2, 2);
    p.runtime.killing = true;
    expect(nextAction(job(), p).action).toBe(WorkerAction.ACTION_STOP);
  });
});
