/**
 * The controller carries out the plan on a container's cgroup files (a fake driver here; the real
 * kernel in test/kernel/cpu-lend.test.ts): only soft-limited containers are lent to, the loan is
 * written as the CFS quota of request + loan, reported in usage, reclaimed at once, reset after an
 * agent restart, and forgotten at cleanup.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/logger.js';
import type { CgroupDriver, Controller } from '../../isolators/cgroup-driver.js';
import type { Container, ContainerUsage } from '../../isolators/isolator.js';
import { Limits, Resources } from '../../proto/gen/galaxy/v1/common.js';
import { createAgentHooks } from '../hooks.js';
import { cpuLendConfig } from './config.js';
import { CpuLendController } from './controller.js';

/** Cgroup files in memory: `controller:path/key` → value. */
function fakeDriver(files: Map<string, string>): CgroupDriver {
  const key = (c: Controller, path: string, file: string) => `${c}:${path}/${file}`;
  return {
    version: 1,
    available: () => true,
    create: () => Promise.resolve(),
    set: (c, path, file, value) => {
      files.set(key(c, path, file), value);
      return Promise.resolve();
    },
    get: (c, path, file) => {
      const value = files.get(key(c, path, file));
      return value === undefined ? Promise.reject(new Error(`no ${file}`)) : Promise.resolve(value);
    },
    procsFiles: () => [],
    pids: () => Promise.resolve([]),
    freeze: () => Promise.resolve(),
    remove: () => Promise.resolve(),
    children: () => Promise.resolve([]),
    exists: (c, path) => files.has(key(c, path, 'cpu.cfs_quota_us')),
  };
}

function container(id: string, cpus: number, excess: boolean, driver: CgroupDriver): Container {
  return {
    id,
    cgroup: `root/${id}`,
    sandbox: `/tmp/${id}`,
    resources: Resources.fromPartial({ cpus }),
    limits: Limits.fromPartial({ cpuExcess: excess }),
    volumes: [],
    driver,
    state: new Map(),
    wrappers: [],
    env: {},
    mounts: [],
  };
}

describe('CpuLendController', () => {
  it('lends to a busy soft container through its quota, reports it, and reclaims it at once', async () => {
    const files = new Map<string, string>();
    const driver = fakeDriver(files);
    const quota = (id: string) => files.get(`cpu:root/${id}/cpu.cfs_quota_us`);
    const busy = (id: string, seconds: number) => {
      files.set(`cpuacct:root/${id}/cpuacct.usage`, String(seconds * 1e9));
    };
    const idle = [2000, 2000, 100];
    const controller = new CpuLendController(cpuLendConfig({ intervalMs: 60_000 }), {
      sample: () => Promise.resolve(idle.shift()),
    });
    const hooks = createAgentHooks();
    controller.apply({ hooks, log: createLogger('test', 'silent') });
    const soft = container('soft', 500, true, driver);
    const hard = container('hard', 500, false, driver);
    for (const c of [soft, hard]) {
      files.set(`cpu:${c.cgroup}/cpu.cfs_quota_us`, '50000');
      files.set(`cpu:${c.cgroup}/cpu.stat`, 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n');
      busy(c.id, 0);
      await hooks.isolate.promise(c, 1);
    }
    await controller.tick(); // the first sample: nothing to compare with yet
    busy('soft', 1000); // far more than its quota since the last sample
    busy('hard', 1000);
    await controller.tick();
    expect(quota('soft')).toBe('75000'); // 500 + a step of 250
    expect(quota('hard')).toBe('50000'); // not soft-limited: never lent to
    const usage: ContainerUsage = {};
    await hooks.usage.promise(soft, usage);
    expect(usage.cpuLentMillicores).toBe(250);
    expect(controller.lentMillicores()).toBe(250);

    busy('soft', 2000);
    await controller.tick(); // idle 100: under the low threshold
    expect(quota('soft')).toBe('50000');
    expect(controller.reclaims).toBe(1);
    expect(controller.lentMillicores()).toBe(0);

    // After an agent restart: a re-attached soft container starts again from its request.
    files.set(`cpu:${soft.cgroup}/cpu.cfs_quota_us`, '-1');
    await hooks.recover.promise([soft, hard]);
    expect(quota('soft')).toBe('50000');
    await hooks.cleanup.promise(soft);
    await hooks.cleanup.promise(hard);
    const after: ContainerUsage = {};
    await hooks.usage.promise(soft, after);
    expect(after.cpuLentMillicores).toBeUndefined();
    await controller.stop();
  });
});
