/**
 * The `cpu` isolator: `cpu.shares` in proportion to millicores (1024 per core, as Mesos does) and
 * the CFS quota of the millicores asked for. For a task that allows excess (`limits.cpu_excess`)
 * that quota is a floor, not a ceiling: the agent's lending controller (`agent/cpu-lend/`) raises
 * it while the machine has idle cores and brings it back when they are needed.
 */
import { sharedIsolator, type Container, type ContainerUsage, type Isolator } from '../isolator.js';

/** CFS period: 100 ms, the kernel's default. */
export const CFS_PERIOD_US = 100_000;
/** The kernel refuses quotas under 1 ms. */
const MIN_QUOTA_US = 1000;

/** Shares for a number of millicores. */
export function cpuShares(millicores: number): number {
  return Math.max(2, Math.round((millicores * 1024) / 1000));
}

/** CFS quota (µs per {@link CFS_PERIOD_US}) for a number of millicores. */
export function cfsQuota(millicores: number): number {
  return Math.max(MIN_QUOTA_US, Math.round((millicores * CFS_PERIOD_US) / 1000));
}

const isolator: Isolator = {
  name: 'cpu',
  controllers: ['cpu', 'cpuacct'],
  async prepare(c: Container) {
    if (c.resources.cpus <= 0) return;
    await c.driver.set('cpu', c.cgroup, 'cpu.shares', String(cpuShares(c.resources.cpus)));
    // Soft-limited tasks too: a task with no quota at all could take every core from its neighbours.
    await c.driver.set('cpu', c.cgroup, 'cpu.cfs_period_us', String(CFS_PERIOD_US));
    await c.driver.set('cpu', c.cgroup, 'cpu.cfs_quota_us', String(cfsQuota(c.resources.cpus)));
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
