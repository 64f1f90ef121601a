/**
 * QuotaStore on a memory coordinator: limits, the refusal message, claims replaced and
 * released, and concurrent admissions that never pass the limit.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isGalaxyError } from '../errors.js';
import { MemoryCoordinator } from '../coordinator/memory.js';
import { claimsKey } from './keys.js';
import { QuotaStore, sumClaims, type Footprint } from './quotas.js';

const GiB = 1024 ** 3;
let coordinator: MemoryCoordinator;

afterEach(async () => {
  await coordinator.close();
});

function store(): QuotaStore {
  coordinator = new MemoryCoordinator();
  return new QuotaStore(coordinator);
}

const pods = (replicas: number, cpus = 1000, mem = GiB): Footprint => ({
  cpus: replicas * cpus,
  mem: replicas * mem,
  disk: 0,
  replicas,
  pool: 'default',
});

describe('QuotaStore', () => {
  it('admits anything for a user without a quota, and records the claim', async () => {
    const quotas = store();
    await quotas.admit('alice', 'appmaster/web', pods(100));
    expect((await quotas.show('alice')).used).toEqual({
      cpus: 100_000,
      mem: 100 * GiB,
      disk: 0,
      ssd: 0,
      hdd: 0,
      tmpfs: 0,
      replicas: 100,
    });
  });

  it('counts disk per medium: a claim of ssd past its limit is refused, one of hdd is not', async () => {
    const quotas = store();
    await quotas.set('alice', { limit: { ssd: 10 * GiB }, guarantee: { hdd: GiB } });
    // A claim written before media were counted has no ssd field: it holds none.
    await coordinator.put(claimsKey('alice'), JSON.stringify({ 'appmaster/old': pods(1) }));
    await quotas.admit('alice', 'appmaster/db', { ...pods(2), disk: 8 * GiB, ssd: 8 * GiB });
    await expect(quotas.admit('alice', 'appmaster/db2', { ...pods(1), disk: 4 * GiB, ssd: 4 * GiB })).rejects.toThrow(
      'ssd requested 4GiB, used 8GiB, limit 10GiB',
    );
    await quotas.admit('alice', 'appmaster/logs', { ...pods(1), disk: 50 * GiB, hdd: 50 * GiB });
    expect((await quotas.show('alice')).used).toMatchObject({ disk: 58 * GiB, ssd: 8 * GiB, hdd: 50 * GiB, tmpfs: 0 });
    await expect(quotas.set('alice', { limit: { ssd: GiB, hdd: GiB }, guarantee: { hdd: 2 * GiB } })).rejects.toThrow(
      'the guarantee of hdd (2GiB) is above its limit (1GiB)',
    );
    await expect(quotas.set('alice', { limit: { nvme: GiB } as never })).rejects.toThrow(
      'limit has no resource "nvme"',
    );
    expect(await quotas.get('alice')).toEqual({ limit: { ssd: 10 * GiB }, guarantee: { hdd: GiB } });
  });

  it('refuses past the limit naming requested, used and limit of each resource over, writing nothing', async () => {
    const quotas = store();
    await quotas.set('alice', { limit: { cpus: 5000, mem: 8 * GiB, replicas: 10 } });
    await quotas.admit('alice', 'appmaster/a', pods(2));
    const before = await coordinator.get(claimsKey('alice'));
    const refusal = quotas.admit('alice', 'appmaster/b', pods(4, 1000, 2 * GiB));
    await expect(refusal).rejects.toThrow(
      'GALAXY_E_QUOTA_EXCEEDED: quota exceeded for user alice: cpus requested 4 cores, used 2 cores, limit 5 cores; mem requested 8GiB, used 2GiB, limit 8GiB',
    );
    expect(await coordinator.get(claimsKey('alice'))).toEqual(before);
  });

  it('replaces a claim rather than adding to it (scale, update) and releases it', async () => {
    const quotas = store();
    await quotas.set('alice', { limit: { replicas: 5 } });
    await quotas.admit('alice', 'appmaster/web', pods(5));
    await quotas.admit('alice', 'appmaster/web', pods(4));
    await expect(quotas.admit('alice', 'batch/b', pods(2))).rejects.toThrow(/replicas requested 2, used 4, limit 5/);
    await quotas.release('alice', 'appmaster/web');
    await quotas.admit('alice', 'batch/b', pods(2));
    expect(await quotas.claims('alice')).toEqual({ 'batch/b': pods(2) });
  });

  it('always admits a claim that does not grow, even past a lowered limit', async () => {
    const quotas = store();
    await quotas.admit('alice', 'appmaster/web', pods(8));
    await quotas.set('alice', { limit: { replicas: 4 } });
    await quotas.admit('alice', 'appmaster/web', pods(6));
    await expect(quotas.admit('alice', 'appmaster/web', pods(7))).rejects.toThrow(
      /replicas requested 7, used 0, limit 4/,
    );
    expect(sumClaims(await quotas.claims('alice')).replicas).toBe(6);
  });

  it('validates quotas: whole numbers, known resources, guarantee within limit', async () => {
    const quotas = store();
    await expect(quotas.set('alice', { limit: { cpus: -1 } })).rejects.toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    await expect(quotas.set('alice', { limit: { gpus: 1 } as never })).rejects.toThrow(/no resource "gpus"/);
    await expect(quotas.set('alice', { limit: { cpus: 1000 }, guarantee: { cpus: 2000 } })).rejects.toThrow(
      /guarantee of cpus \(2 cores\) is above its limit \(1 core\)/,
    );
    const set = await quotas.set('alice', { limit: { cpus: 4000, mem: undefined }, guarantee: { cpus: 1000 } });
    expect(set).toEqual({ limit: { cpus: 4000 }, guarantee: { cpus: 1000 } });
    expect(await quotas.list()).toMatchObject([{ user: 'alice', limit: { cpus: 4000 }, guarantee: { cpus: 1000 } }]);
  });

  it('never lets concurrent admissions (several processes) pass the limit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 2, maxLength: 12 }),
        fc.integer({ min: 1, max: 12 }),
        async (sizes, limit) => {
          const shared = new MemoryCoordinator();
          const processes = [shared, new MemoryCoordinator(shared.store), new MemoryCoordinator(shared.store)];
          try {
            await new QuotaStore(shared).set('bob', { limit: { replicas: limit } });
            const results = await Promise.allSettled(
              sizes.map((n, i) => new QuotaStore(processes[i % 3] ?? shared).admit('bob', `batch/j${i}`, pods(n))),
            );
            for (const r of results)
              if (r.status === 'rejected') expect(isGalaxyError(r.reason, 'GALAXY_E_QUOTA_EXCEEDED')).toBe(true);
            const admitted = sizes.filter((_, i) => results[i]?.status === 'fulfilled');
            const claims = await new QuotaStore(shared).claims('bob');
            expect(Object.keys(claims)).toHaveLength(admitted.length);
            expect(sumClaims(claims).replicas).toBe(admitted.reduce((a, b) => a + b, 0));
            expect(sumClaims(claims).replicas).toBeLessThanOrEqual(limit);
          } finally {
            for (const p of processes) await p.close();
          }
        },
      ),
      { numRuns: 40 },
    );
    coordinator = new MemoryCoordinator();
  });
});
