/**
 * The `pids` isolator: `pids.max`, a guard against fork bombs. Forks beyond the limit fail inside
 * the container; the agent and its other containers are untouched.
 */
import { sharedIsolator, type Container, type ContainerUsage, type Isolator } from '../isolator.js';

/** Process limit of a task that names none. */
export const DEFAULT_PIDS_MAX = 1024;

const isolator: Isolator = {
  name: 'pids',
  controllers: ['pids'],
  async prepare(c: Container) {
    const max = c.limits.pidsMax > 0 ? c.limits.pidsMax : DEFAULT_PIDS_MAX;
    await c.driver.set('pids', c.cgroup, 'pids.max', String(max));
  },
  async usage(c: Container): Promise<ContainerUsage> {
    const current = Number(await c.driver.get('pids', c.cgroup, 'pids.current'));
    const events = await c.driver.get('pids', c.cgroup, 'pids.events').catch(() => '');
    return { pids: current, pidsLimitHits: Number(/max (\d+)/.exec(events)?.[1] ?? 0) };
  },
};

/** The plugin. */
export const plugin = sharedIsolator(isolator);
export default plugin;
