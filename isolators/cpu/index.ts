/**
 * The `cpu` isolator: `cpu.shares` in proportion to millicores (1024 per core, as Mesos does);
 * unless the task allows excess, a hard limit through the CFS quota.
 */
import { sharedIsolator, type Container, type ContainerUsage, type Isolator } from '../isolator.js';

/** CFS period: 100 ms, the kernel's default. */
const PERIOD_US = 100_000;
/** The kernel refuses quotas under 1 ms. */
const MIN_QUOTA_US = 1000;

/** Shares for a number of millicores. */
export function cpuShares(millicores: number): number {
  return Math.max(2, Math.round((millicores * 1024) / 1000));
}

/** CFS quota (µs per {@link PERIOD_US}) for a number of millicores. */
export function cfsQuota(millicores: number): number {
  return Math.max(MIN_QUOTA_US, Math.round((millicores * PERIOD_US) / 1000));
}

const isolator: Isolator = {
  name: 'cpu',
  controllers: ['cpu', 'cpuacct'],
  async prepare(c: Container) {
    if (c.resources.cpus <= 0) return;
    await c.driver.set('cpu', c.cgroup, 'cpu.shares', String(cpuShares(c.resources.cpus)));
    if (!c.limits.cpuExcess) {
      await c.driver.set('cpu', c.cgroup, 'cpu.cfs_period_us', String(PERIOD_US));
      await c.driver.set('cpu', c.cgroup, 'cpu.cfs_quota_us', String(cfsQuota(c.resources.cpus)));
    }
  },
  async usage(c: Container): Promise<ContainerUsage> {
    const ns = Number(await c.driver.get('cpuacct', c.cgroup, 'cpuacct.usage'));
    const stat = await c.driver.get('cpu', c.cgroup, 'cpu.stat').catch(() => '');
    const throttled = Number(/throttled_time (\d+)/.exec(stat)?.[1] ?? 0);
    return { cpuSeconds: ns / 1e9, cpuThrottledSeconds: throttled / 1e9 };
  },
};

/** The plugin. */
export const plugin = sharedIsolator(isolator);
export default plugin;
