/**
 * A user's quota claims are one coordinator record written with compare-and-set: a framework's
 * many submits at once go into a few writes together instead of colliding until their retries run
 * out, and one over the quota is refused alone.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { claimsKey } from '../../core/tenancy/keys.js';
import { JobTenancy } from './tenancy.js';

/** Writes that take a few milliseconds, as a disk's do: contenders read the same version meanwhile. */
class SlowWrites extends MemoryCoordinator {
  /** Writes of claims, and those that lost their compare-and-set. */
  claimWrites = 0;
  conflicts = 0;

  override async put(key: string, value: string, options?: { expectedVersion?: number }): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    if (key === claimsKey('alice')) this.claimWrites += 1;
    return super.put(key, value, options).catch((error: unknown) => {
      this.conflicts += 1;
      throw error;
    });
  }
}

const footprint = { pool: 'default', cpus: 100, mem: 1024, disk: 0, replicas: 1 };

describe('JobTenancy claims', () => {
  it('admits 200 jobs of one user submitted at once in a few writes, and releases them at once', async () => {
    const coordinator = new SlowWrites();
    try {
      const tenancy = new JobTenancy(coordinator, 'batch');
      const jobs = Array.from({ length: 200 }, (_, i) => `job-${i}`);
      await Promise.all(jobs.map((job) => tenancy.admit('alice', job, footprint)));
      expect(Object.keys(await tenancy.quotas.claims('alice')).sort()).toEqual(jobs.map((j) => `batch/${j}`).sort());
      expect(coordinator.claimWrites).toBeLessThanOrEqual(2);
      await Promise.all(jobs.map((job) => tenancy.release('alice', job)));
      expect(await tenancy.quotas.claims('alice')).toEqual({});
      expect(coordinator.conflicts).toBe(0);
    } finally {
      await coordinator.close();
    }
  });

  it('refuses the submits over the quota alone, naming it, and admits the others written with them', async () => {
    const coordinator = new SlowWrites();
    try {
      const tenancy = new JobTenancy(coordinator, 'batch');
      await tenancy.quotas.set('alice', { limit: { replicas: 150 } });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 200 }, (_, i) => tenancy.admit('alice', `job-${i}`, footprint)),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(150);
      const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
      expect(refused).toHaveLength(50);
      for (const error of refused)
        expect(error.message).toMatch(/GALAXY_E_QUOTA_EXCEEDED: quota exceeded for user alice/);
      expect(Object.keys(await tenancy.quotas.claims('alice'))).toHaveLength(150);
    } finally {
      await coordinator.close();
    }
  });
});
