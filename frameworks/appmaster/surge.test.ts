/**
 * Rolling by availability (maxSurge, maxUnavailable): the limits as Kubernetes resolves them, and
 * the planner's moves on hand-made pods: a replace starts new pods before it retires old ones, an
 * in-place update moves pods within the unavailability and carries them with surge pods when none
 * may be unavailable, unavailable old pods go first at no cost, and a canary cap holds the rest.
 */
import { describe, expect, it } from 'vitest';
import { WorkerReport } from '../../proto/gen/galaxy/v1/appmaster.js';
import { isHealthyAtTarget, newRuntime, type Pod } from './model.js';
import { DeploySchema } from './spec/schema.js';
import { planSurge, surgeLimits, type SurgeInput } from './surge.js';

/** Pod `index` targeting `revision`, running it healthy (or not). */
function pod(index: number, revision: number, healthy = true): Pod {
  const runtime = newRuntime();
  runtime.report = WorkerReport.fromPartial({
    phase: healthy ? 'running' : 'deploying',
    revision,
    dataRevision: revision,
    health: healthy ? 'healthy' : 'unknown',
  });
  return {
    record: {
      podId: `web-${index}`,
      index,
      revision,
      containerRevision: revision,
      taskId: `t${index}`,
      agentId: 'a1',
      hostname: 'h1',
      ports: {},
      launchedAt: 1,
      retargetedAt: 1,
    },
    runtime,
  };
}

const input = (live: Pod[], over: Partial<SurgeInput>): SurgeInput => ({
  live,
  to: 2,
  kind: 'replace',
  replicas: 3,
  limits: { surge: 1, unavailable: 0 },
  cap: 3,
  updated: isHealthyAtTarget,
  ...over,
});

describe('surgeLimits', () => {
  it('resolves counts and percentages as Kubernetes does (surge up, unavailable down, 25% unset)', () => {
    const deploy = (d: Record<string, unknown>) => DeploySchema.parse(d);
    expect(surgeLimits(deploy({ maxSurge: '25%', maxUnavailable: '25%' }), 4)).toEqual({ surge: 1, unavailable: 1 });
    expect(surgeLimits(deploy({ maxSurge: 2 }), 3)).toEqual({ surge: 2, unavailable: 0 });
    expect(surgeLimits(deploy({ maxSurge: '50%', maxUnavailable: '50%' }), 3)).toEqual({ surge: 2, unavailable: 1 });
    expect(surgeLimits(deploy({ maxSurge: 0, maxUnavailable: '10%' }), 3)).toEqual({ surge: 0, unavailable: 1 });
  });

  it('refuses a percentage out of range and both at 0, naming the field', () => {
    expect(DeploySchema.safeParse({ maxSurge: '150%' }).success).toBe(false);
    expect(DeploySchema.safeParse({ maxSurge: -1 }).success).toBe(false);
  });
});

describe('planSurge', () => {
  it('replace, surge 1, unavailable 0: one new pod first; an old one goes once the new one serves', () => {
    const old = [pod(0, 1), pod(1, 1), pod(2, 1)];
    expect(planSurge(input(old, {}))).toEqual({ retarget: [], retire: [], add: 1 });
    const starting = [...old, pod(3, 2, false)];
    expect(planSurge(input(starting, {}))).toEqual({ retarget: [], retire: [], add: 0 });
    const serving = [...old, pod(3, 2)];
    expect(planSurge(input(serving, {}))).toEqual({ retarget: [], retire: ['web-0'], add: 1 });
  });

  it('replace, surge 0, unavailable 1: retires one old pod and starts its replacement', () => {
    const old = [pod(0, 1), pod(1, 1), pod(2, 1)];
    expect(planSurge(input(old, { limits: { surge: 0, unavailable: 1 } }))).toEqual({
      retarget: [],
      retire: ['web-0'],
      add: 1,
    });
  });

  it('moves unavailable old pods first, at no cost to the serving ones', () => {
    const live = [pod(0, 1), pod(1, 1, false), pod(2, 1)];
    // 2 serve and 3 - 1 must: only the one not serving goes.
    expect(planSurge(input(live, { limits: { surge: 0, unavailable: 1 } }))).toEqual({
      retarget: [],
      retire: ['web-1'],
      add: 1,
    });
    expect(planSurge(input(live, { limits: { surge: 0, unavailable: 2 } })).retire).toEqual(['web-1', 'web-0']);
  });

  it('in place with unavailable 1 moves one pod in its container and starts none', () => {
    const old = [pod(0, 1), pod(1, 1), pod(2, 1)];
    expect(planSurge(input(old, { kind: 'rebuild', limits: { surge: 1, unavailable: 1 } }))).toEqual({
      retarget: ['web-0'],
      retire: [],
      add: 0,
    });
  });

  it('in place with unavailable 0 starts a surge pod, then moves one pod per serving surge pod', () => {
    const old = [pod(0, 1), pod(1, 1), pod(2, 1)];
    const rebuild = { kind: 'rebuild' as const };
    expect(planSurge(input(old, rebuild))).toEqual({ retarget: [], retire: [], add: 1 });
    expect(planSurge(input([...old, pod(3, 2, false)], rebuild))).toEqual({ retarget: [], retire: [], add: 0 });
    expect(planSurge(input([...old, pod(3, 2)], rebuild))).toEqual({ retarget: ['web-0'], retire: [], add: 0 });
    // The last old pod moves too, though the surge pod already makes 3 at the target.
    const last = [pod(0, 2), pod(1, 2), pod(2, 1), pod(3, 2)];
    expect(planSurge(input(last, rebuild))).toEqual({ retarget: ['web-2'], retire: [], add: 0 });
  });

  it('a canary cap of 1 keeps replicas - 1 old pods', () => {
    const old = [pod(0, 1), pod(1, 1), pod(2, 1)];
    expect(planSurge(input(old, { cap: 1 }))).toEqual({ retarget: [], retire: [], add: 1 });
    const canary = [...old, pod(3, 2)];
    expect(planSurge(input(canary, { cap: 1 }))).toEqual({ retarget: [], retire: ['web-0'], add: 0 });
    const held = [pod(1, 1), pod(2, 1), pod(3, 2)];
    expect(planSurge(input(held, { cap: 1 }))).toEqual({ retarget: [], retire: [], add: 0 });
  });
});
