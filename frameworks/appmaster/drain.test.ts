/**
 * Moving pods off draining agents, on hand-made pods: step, interval, unhealthy pods first,
 * pods elsewhere left alone.
 */
import { describe, expect, it } from 'vitest';
import { WorkerReport } from '../../proto/gen/galaxy/v1/appmaster.js';
import { planDrain } from './drain.js';
import { newRuntime, type Pod } from './model.js';

/** A pod on `agentId`: healthy since `healthySince` (0 = not healthy), pending when `agentId` is empty. */
function pod(index: number, agentId: string, healthySince = 1, killing = false): Pod {
  const runtime = newRuntime();
  const healthy = healthySince > 0;
  runtime.report = WorkerReport.fromPartial({
    phase: healthy ? 'running' : 'deploying',
    revision: 1,
    dataRevision: 1,
    health: healthy ? 'healthy' : 'unknown',
  });
  runtime.healthySince = healthySince;
  runtime.killing = killing;
  return {
    record: {
      podId: `web-${index}`,
      index,
      revision: 1,
      containerRevision: 1,
      taskId: agentId === '' ? '' : `web-${index}.t`,
      agentId,
      hostname: agentId,
      ports: {},
      launchedAt: agentId === '' ? 0 : 1,
      retargetedAt: 1,
    },
    runtime,
  };
}

const DRAINING = new Set(['a1']);
const NOW = 100_000;

describe('planDrain', () => {
  it('moves nothing when no agent drains', () => {
    expect(planDrain([pod(0, 'a1')], new Set(), { step: 1, intervalS: 0 }, NOW)).toEqual([]);
  });

  it('moves step pods at a time, the next only when the replacement serves for intervalS', () => {
    const pace = { step: 1, intervalS: 5 };
    expect(planDrain([pod(0, 'a1'), pod(1, 'a1'), pod(2, 'a2')], DRAINING, pace, NOW)).toEqual(['web-0']);
    // web-0 is being killed: nothing else moves.
    expect(planDrain([pod(0, 'a1', 1, true), pod(1, 'a1'), pod(2, 'a2')], DRAINING, pace, NOW)).toEqual([]);
    // web-0 waits for a new place, then deploys elsewhere: still nothing.
    expect(planDrain([pod(0, ''), pod(1, 'a1'), pod(2, 'a2')], DRAINING, pace, NOW)).toEqual([]);
    expect(planDrain([pod(0, 'a2', 0), pod(1, 'a1'), pod(2, 'a2')], DRAINING, pace, NOW)).toEqual([]);
    // Healthy, but for less than intervalS: still nothing; after it, web-1 goes.
    expect(planDrain([pod(0, 'a2', NOW - 1000), pod(1, 'a1'), pod(2, 'a2')], DRAINING, pace, NOW)).toEqual([]);
    expect(planDrain([pod(0, 'a2', NOW - 6000), pod(1, 'a1'), pod(2, 'a2')], DRAINING, pace, NOW)).toEqual(['web-1']);
  });

  it('moves up to step pods together', () => {
    const pods = [pod(0, 'a1'), pod(1, 'a1'), pod(2, 'a1'), pod(3, 'a2')];
    expect(planDrain(pods, DRAINING, { step: 2, intervalS: 0 }, NOW)).toEqual(['web-0', 'web-1']);
  });

  it('moves pods that do not serve anyway at once, and counts them against the step', () => {
    const pods = [pod(0, 'a1'), pod(1, 'a1', 0), pod(2, 'a2')];
    expect(planDrain(pods, DRAINING, { step: 1, intervalS: 0 }, NOW)).toEqual(['web-1']);
    expect(planDrain(pods, DRAINING, { step: 2, intervalS: 0 }, NOW)).toEqual(['web-1', 'web-0']);
  });

  it('leaves alone pods being removed and pods on other agents', () => {
    const removing = pod(0, 'a1');
    removing.runtime.removing = true;
    expect(planDrain([removing, pod(1, 'a2')], DRAINING, { step: 3, intervalS: 0 }, NOW)).toEqual([]);
  });
});
