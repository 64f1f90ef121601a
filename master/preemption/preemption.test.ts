/**
 * Victim selection, on its own: bands, order, fewest victims, ties.
 */
import { describe, expect, it } from 'vitest';
import { Band } from '../../core/bands.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import {
  agentMatches,
  compareVictims,
  planOnAgent,
  selectVictims,
  type PreemptionAgent,
  type VictimCandidate,
} from './preemption.js';

const MiB = 1024 ** 2;

function res(cpus: number, mem = 0): Resources {
  return { cpus, mem, disk: 0, gpus: 0, ports: [] };
}

function victim(taskId: string, band: Band, cpus: number, extra: Partial<VictimCandidate> = {}): VictimCandidate {
  return {
    taskId,
    frameworkId: `fw-${taskId}`,
    name: taskId,
    band,
    revocable: false,
    resources: res(cpus, 64 * MiB),
    share: 0,
    launchedAt: 0,
    ...extra,
  };
}

function agent(agentId: string, freeCpus: number, tasks: VictimCandidate[]): PreemptionAgent {
  return { agentId, free: res(freeCpus, 64 * MiB * 100), tasks };
}

const ids = (victims: readonly VictimCandidate[]) => victims.map((v) => v.taskId);

describe('victim order', () => {
  it('puts revocable first, then the lowest band, then the largest share, then the newest', () => {
    const tasks = [
      victim('batch-old', Band.BAND_BATCH, 1, { launchedAt: 1 }),
      victim('be-small-share', Band.BAND_BEST_EFFORT, 1, { share: 0.1 }),
      victim('batch-revocable', Band.BAND_BATCH, 1, { revocable: true }),
      victim('be-big-share', Band.BAND_BEST_EFFORT, 1, { share: 0.5 }),
      victim('batch-new', Band.BAND_BATCH, 1, { launchedAt: 2 }),
    ];
    expect(ids([...tasks].sort(compareVictims))).toEqual([
      'batch-revocable',
      'be-big-share',
      'be-small-share',
      'batch-new',
      'batch-old',
    ]);
  });
});

describe('planOnAgent', () => {
  it('takes the lowest band first, then the largest share', () => {
    const plan = planOnAgent(
      { resources: res(1000), band: Band.BAND_PRODUCTION },
      agent('a1', 0, [
        victim('batch', Band.BAND_BATCH, 1000),
        victim('be-small', Band.BAND_BEST_EFFORT, 1000, { share: 0.1 }),
        victim('be-big', Band.BAND_BEST_EFFORT, 1000, { share: 0.4 }),
      ]),
    );
    expect(ids(plan?.victims ?? [])).toEqual(['be-big']);
  });

  it('counts what is free: no victims when the request fits already', () => {
    const plan = planOnAgent({ resources: res(500), band: Band.BAND_PRODUCTION }, agent('a1', 500, []));
    expect(plan).toEqual({ agentId: 'a1', victims: [] });
  });

  it('never preempts production for production, nor anything for best-effort', () => {
    const full = agent('a1', 0, [
      victim('prod', Band.BAND_PRODUCTION, 4000),
      victim('unset', Band.BAND_UNSPECIFIED, 4000),
    ]);
    expect(planOnAgent({ resources: res(1000), band: Band.BAND_PRODUCTION }, full)).toBeUndefined();
    expect(planOnAgent({ resources: res(1000), band: Band.BAND_UNSPECIFIED }, full)).toBeUndefined();
    const be = agent('a2', 0, [victim('be', Band.BAND_BEST_EFFORT, 4000)]);
    expect(planOnAgent({ resources: res(1000), band: Band.BAND_BEST_EFFORT }, be)).toBeUndefined();
    expect(ids(planOnAgent({ resources: res(1000), band: Band.BAND_BATCH }, be)?.victims ?? [])).toEqual(['be']);
  });

  it('lets monitoring preempt production (strictly lower band)', () => {
    const plan = planOnAgent(
      { resources: res(1000), band: Band.BAND_MONITORING },
      agent('a1', 0, [victim('prod', Band.BAND_PRODUCTION, 1000)]),
    );
    expect(ids(plan?.victims ?? [])).toEqual(['prod']);
  });

  it('drops victims that turn out not to be needed', () => {
    // In order: the small best-effort task first, but it alone is not enough and the batch one
    // alone is: only the batch task dies.
    const plan = planOnAgent(
      { resources: res(2000), band: Band.BAND_PRODUCTION },
      agent('a1', 0, [victim('be-small', Band.BAND_BEST_EFFORT, 500), victim('batch-big', Band.BAND_BATCH, 2000)]),
    );
    expect(ids(plan?.victims ?? [])).toEqual(['batch-big']);
  });

  it('needs every scalar covered', () => {
    const plan = planOnAgent(
      { resources: res(100, 1024 * MiB), band: Band.BAND_PRODUCTION },
      { agentId: 'a1', free: res(4000, 0), tasks: [victim('be', Band.BAND_BEST_EFFORT, 100)] },
    );
    expect(plan).toBeUndefined();
  });
});

describe('selectVictims', () => {
  it('picks the agent needing the fewest victims', () => {
    const many = agent(
      'a1',
      0,
      [1, 2, 3, 4].map((i) => victim(`small-${i}`, Band.BAND_BEST_EFFORT, 250, { share: 0.9 })),
    );
    const one = agent('a2', 0, [victim('big', Band.BAND_BATCH, 1000)]);
    const plan = selectVictims({ resources: res(1000), band: Band.BAND_PRODUCTION }, [many, one]);
    expect(plan?.agentId).toBe('a2');
    expect(ids(plan?.victims ?? [])).toEqual(['big']);
  });

  it('breaks ties by the least resources preempted, then the agent id', () => {
    const big = agent('a1', 0, [victim('big', Band.BAND_BEST_EFFORT, 4000)]);
    const exact = agent('a2', 0, [victim('exact', Band.BAND_BEST_EFFORT, 1000)]);
    const twin = agent('a3', 0, [victim('twin', Band.BAND_BEST_EFFORT, 1000)]);
    const plan = selectVictims({ resources: res(1000), band: Band.BAND_PRODUCTION }, [big, twin, exact]);
    expect(plan?.agentId).toBe('a2');
  });

  it('prefers an agent with room over any preemption', () => {
    const plan = selectVictims({ resources: res(1000), band: Band.BAND_PRODUCTION }, [
      agent('a1', 0, [victim('be', Band.BAND_BEST_EFFORT, 1000)]),
      agent('a2', 1000, []),
    ]);
    expect(plan).toEqual({ agentId: 'a2', victims: [] });
  });

  it('returns undefined when nothing can make room', () => {
    expect(
      selectVictims({ resources: res(1000), band: Band.BAND_PRODUCTION }, [
        agent('a1', 0, [victim('prod', Band.BAND_PRODUCTION, 4000)]),
      ]),
    ).toBeUndefined();
  });
});

describe('agentMatches', () => {
  const a = {
    pool: 'gpu',
    attributes: [
      { key: 'zone', value: 'b' },
      { key: 'ssd', value: 'true' },
    ],
  };
  it('matches pool and labels, with * for any value', () => {
    expect(agentMatches(a, 'gpu', { zone: 'b' })).toBe(true);
    expect(agentMatches(a, 'gpu', { zone: '*', ssd: 'true' })).toBe(true);
    expect(agentMatches(a, 'gpu', { zone: 'a' })).toBe(false);
    expect(agentMatches(a, 'default', {})).toBe(false);
    expect(agentMatches({ pool: '', attributes: [] }, '', {})).toBe(true);
  });
});
