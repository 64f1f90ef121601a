/**
 * A user's quota claims are one coordinator record written with compare-and-set: a framework's
 * many submits at once take turns on it instead of colliding until their retries run out.
 */
import { describe, expect, it } from 'vitest';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { JobTenancy } from './tenancy.js';

/** Writes that take a few milliseconds, as a disk's do: contenders read the same version meanwhile. */
class SlowWrites extends MemoryCoordinator {
  /** Writes that lost their compare-and-set. */
  conflicts = 0;

  override async put(key: string, value: string, options?: { expectedVersion?: number }): Promise<number> {
    await new Promise((resolve) => setTimeout(resolve, 2));
    return super.put(key, value, options).catch((error: unknown) => {
      this.conflicts += 1;
      throw error;
    });
  }
}

describe('JobTenancy claims', () => {
  it('admits 200 jobs of one user submitted at once, and releases them at once, without a collision', async () => {
    const coordinator = new SlowWrites();
    try {
      const tenancy = new JobTenancy(coordinator, 'batch');
      const jobs = Array.from({ length: 200 }, (_, i) => `job-${i}`);
      const footprint = { pool: 'default', cpus: 100, mem: 1024, disk: 0, replicas: 1 };
      await Promise.all(jobs.map((job) => tenancy.admit('alice', job, footprint)));
      expect(Object.keys(await tenancy.quotas.claims('alice')).sort()).toEqual(jobs.map((j) => `batch/${j}`).sort());
      await Promise.all(jobs.map((job) => tenancy.release('alice', job)));
      expect(await tenancy.quotas.claims('alice')).toEqual({});
      expect(coordinator.conflicts).toBe(0);
    } finally {
      await coordinator.close();
    }
  });
});
