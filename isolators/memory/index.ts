/**
 * The `memory` isolator: a hard limit (`resources.mem`), an optional soft limit, and no escape
 * through swap. When the kernel's OOM killer acts inside the container, the task fails with
 * reason `memory-limit`.
 */
import { formatBytes } from '../../core/resources.js';
import { sharedIsolator, type Container, type ContainerUsage, type Isolator, type Limitation } from '../isolator.js';

const isolator: Isolator = {
  name: 'memory',
  controllers: ['memory'],
  async prepare(c: Container) {
    if (c.resources.mem <= 0) return;
    await c.driver.set('memory', c.cgroup, 'memory.limit_in_bytes', String(c.resources.mem));
    // Without this the task could exceed its limit by swapping (where swap accounting exists).
    await c.driver
      .set('memory', c.cgroup, 'memory.memsw.limit_in_bytes', String(c.resources.mem))
      .catch(() => undefined);
    if (c.limits.memSoft > 0)
      await c.driver.set('memory', c.cgroup, 'memory.soft_limit_in_bytes', String(c.limits.memSoft));
  },
  async limitation(c: Container): Promise<Limitation | undefined> {
    const control = await c.driver.get('memory', c.cgroup, 'memory.oom_control').catch(() => '');
    const kills = Number(/oom_kill (\d+)/.exec(control)?.[1] ?? 0);
    const underOom = /under_oom 1/.test(control);
    if (kills === 0 && !underOom) return undefined;
    return {
      reason: 'memory-limit',
      message: `the task exceeded its memory limit of ${formatBytes(c.resources.mem)} and was OOM-killed`,
    };
  },
  async usage(c: Container): Promise<ContainerUsage> {
    const [current, max] = await Promise.all([
      c.driver.get('memory', c.cgroup, 'memory.usage_in_bytes'),
      c.driver.get('memory', c.cgroup, 'memory.max_usage_in_bytes').catch(() => '0'),
    ]);
    return { memBytes: Number(current), memMaxBytes: Number(max) };
  },
};

/** The plugin. */
export const plugin = sharedIsolator(isolator);
export default plugin;
