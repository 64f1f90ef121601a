import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isGalaxyError } from '../../core/errors.js';
import { parseResources } from '../../core/resources.js';
import type { Offer, TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import type { Accept } from '../../proto/gen/galaxy/v1/scheduler.js';
import { planAccept } from '../frameworks/accept.js';
import { planRevocableOffers, RevocablePool } from './revocable-pool.js';
import { clampEstimate } from './revocable-offers.js';

const GiB = 1024 ** 3;

describe('clampEstimate', () => {
  const total = parseResources('cpus:4;mem:8GiB;disk:10GiB');

  it('keeps an estimate within the total, cpus and mem only', () => {
    const { estimate, corrections } = clampEstimate(parseResources('cpus:1.5;mem:2GiB;disk:5GiB'), total);
    expect(estimate).toEqual({ cpus: 1500, mem: 2 * GiB, disk: 0, gpus: 0, ports: [] });
    expect(corrections).toEqual([]);
  });

  it('clamps more than the total to it and a negative amount to 0, saying so', () => {
    const { estimate, corrections } = clampEstimate({ cpus: 99_000, mem: -5, disk: 0, gpus: 0, ports: [] }, total);
    expect(estimate).toMatchObject({ cpus: 4000, mem: 0 });
    expect(corrections).toEqual([
      "cpus 99000 is more than the agent's total 4000: clamped to it",
      'mem -5 is negative: taken as 0',
    ]);
  });

  it('is always within [0, total] (property)', () => {
    fc.assert(
      fc.property(fc.double(), fc.double(), (cpus, mem) => {
        const { estimate } = clampEstimate({ cpus, mem, disk: 0, gpus: 0, ports: [] }, total);
        expect(estimate.cpus >= 0 && estimate.cpus <= total.cpus && Number.isInteger(estimate.cpus)).toBe(true);
        expect(estimate.mem >= 0 && estimate.mem <= total.mem && Number.isInteger(estimate.mem)).toBe(true);
      }),
    );
  });
});

describe('RevocablePool', () => {
  const a = { frameworkId: 'fa', role: 'ra' };
  const b = { frameworkId: 'fb', role: 'rb' };

  it("offers an agent's estimate less what is held, whole to one client, in turn", () => {
    const pool = new RevocablePool(() => 0);
    pool.setEstimate('agent', parseResources('cpus:2;mem:2GiB'));
    const [first] = pool.allocate(['agent'], [a, b]);
    expect(first).toMatchObject({ frameworkId: 'fa', agentId: 'agent', resources: { cpus: 2000, mem: 2 * GiB } });
    expect(pool.allocate(['agent'], [a, b])).toEqual([]); // all held by the outstanding offer
    pool.release('agent', parseResources('cpus:2;mem:2GiB'));
    expect(pool.allocate(['agent'], [a, b])[0]?.frameworkId).toBe('fb');
  });

  it('keeps a declining framework away from the agent for its refuse seconds, and REVIVE clears that', () => {
    let now = 0;
    const pool = new RevocablePool(() => now);
    pool.setEstimate('agent', parseResources('cpus:1;mem:1GiB'));
    const [offer] = pool.allocate(['agent'], [a]);
    pool.release('agent', offer?.resources ?? parseResources('cpus:0'), 'fa', 5);
    expect(pool.allocate(['agent'], [a])).toEqual([]);
    now = 6000;
    const [again] = pool.allocate(['agent'], [a]);
    expect(again?.frameworkId).toBe('fa');
    pool.release('agent', again?.resources ?? parseResources('cpus:0'), 'fa', 60);
    pool.revive('fa');
    expect(pool.allocate(['agent'], [a])).toHaveLength(1);
  });

  it('is overcommitted when the estimate falls below what tasks hold, and offers nothing then', () => {
    const pool = new RevocablePool(() => 0);
    pool.setEstimate('agent', parseResources('cpus:2;mem:2GiB'));
    pool.hold('agent', parseResources('cpus:1.5;mem:1GiB'));
    pool.setEstimate('agent', parseResources('cpus:1;mem:2GiB'));
    expect(pool.overcommitted('agent')).toBe(true);
    expect(pool.allocate(['agent'], [a])).toEqual([]);
  });

  it('never offers more than the estimate, whatever holds and releases happen (property)', () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('estimate' as const), cpus: fc.nat(8000), mem: fc.nat(8) }),
      fc.record({ kind: fc.constant('allocate' as const) }),
      fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const pool = new RevocablePool(() => 0);
        const outstanding: ReturnType<typeof parseResources>[] = [];
        let estimate = { cpus: 0, mem: 0 };
        for (const s of steps) {
          if (s.kind === 'estimate') {
            estimate = { cpus: s.cpus, mem: s.mem * GiB };
            pool.setEstimate('agent', { ...parseResources('cpus:0'), ...estimate });
          } else if (s.kind === 'allocate') {
            const before = pool.heldOn('agent');
            const made = pool.allocate(['agent'], [a, b]);
            // New offers come only from what the estimate leaves beyond what is held.
            const cpus = made.reduce((n, o) => n + o.resources.cpus, 0);
            const mem = made.reduce((n, o) => n + o.resources.mem, 0);
            expect(cpus).toBeLessThanOrEqual(Math.max(0, estimate.cpus - before.cpus));
            expect(mem).toBeLessThanOrEqual(Math.max(0, estimate.mem - before.mem));
            for (const o of made) outstanding.push(o.resources);
          } else if (outstanding.length > 0) {
            const [r] = outstanding.splice(s.pick % outstanding.length, 1);
            if (r) pool.release('agent', r);
          }
          const held = outstanding.reduce((n, r) => ({ cpus: n.cpus + r.cpus, mem: n.mem + r.mem }), {
            cpus: 0,
            mem: 0,
          });
          expect(pool.heldOn('agent')).toMatchObject(held);
        }
      }),
    );
  });

  it('lists as estimated only the agents that reported an estimate, until they re-register or go', () => {
    const pool = new RevocablePool(() => 0);
    expect([...pool.estimated()]).toEqual([]);
    pool.setEstimate('one', parseResources('cpus:1;mem:1GiB'));
    pool.setEstimate('two', parseResources('cpus:1;mem:1GiB'));
    pool.hold('three', parseResources('cpus:1'));
    expect([...pool.estimated()].sort()).toEqual(['one', 'two']);
    pool.resetAgent('one', parseResources(''));
    pool.removeAgent('two');
    expect([...pool.estimated()]).toEqual([]);
  });

  it('skips agents with less than a task needs of either', () => {
    const available = new Map([
      ['cpu-only', parseResources('cpus:2')],
      ['both', parseResources('cpus:0.5;mem:64MiB')],
    ]);
    expect(planRevocableOffers(available, [a], () => false, 0).offers.map((o) => o.agentId)).toEqual(['both']);
  });
});

describe('planAccept and revocable offers', () => {
  const offer = (id: string, revocable: boolean): Offer => ({
    id,
    frameworkId: 'fw',
    agentId: 'a1',
    hostname: 'h',
    resources: parseResources('cpus:2;mem:1GiB'),
    attributes: [],
    pool: 'default',
    allowedHostPaths: [],
    heldVolumes: [],
    ...(revocable ? { revocable: true } : {}),
  });
  const offers = new Map([
    ['rev', offer('rev', true)],
    ['reg', offer('reg', false)],
  ]);
  const task = (onRevocable: boolean): TaskInfo => ({
    taskId: 't1',
    name: 't1',
    agentId: '',
    resources: parseResources('cpus:1;mem:256MiB'),
    command: { shell: 'true', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 3,
    volumes: [],
    ...(onRevocable ? { onRevocable: true } : {}),
  });
  const accept = (ids: string[], t: TaskInfo): Accept => ({
    offerIds: ids,
    operations: [{ operation: { $case: 'launch', launch: { taskInfos: [t] } } }],
  });
  const plan = (ids: string[], t: TaskInfo) =>
    planAccept(
      'fw',
      accept(ids, t),
      (id) => offers.get(id),
      () => false,
    );
  const code = (f: () => unknown): string | undefined => {
    try {
      f();
    } catch (error) {
      return isGalaxyError(error) ? error.code : String(error);
    }
    return undefined;
  };

  it('launches an on_revocable task on revocable offers, and says the plan is revocable', () => {
    expect(plan(['rev'], task(true)).revocable).toBe(true);
    expect(plan(['reg'], task(false)).revocable).toBe(false);
  });

  it('refuses a regular task on revocable offers, an on_revocable one on regular offers, and mixed offers', () => {
    expect(code(() => plan(['rev'], task(false)))).toBe('GALAXY_E_REVOCABLE_MISMATCH');
    expect(code(() => plan(['reg'], task(true)))).toBe('GALAXY_E_REVOCABLE_MISMATCH');
    expect(code(() => plan(['reg', 'rev'], task(true)))).toBe('GALAXY_E_REVOCABLE_MISMATCH');
  });
});
