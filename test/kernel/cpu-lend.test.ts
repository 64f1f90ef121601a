/**
 * Cpu lending on the real kernel (cgroup v1, CFS quotas): a busy soft-limited container
 * (`limits.cpu_excess`) gets more than its quota while its neighbour is idle, and is back at its
 * quota within a few intervals once a hard-limited neighbour gets busy.
 *
 * The machine running the suite may be shared (other work loads its two cores), so its own idle
 * cpu says nothing about these containers: the agent is given an idle source of the test's own
 * making: a virtual machine of {@link CAPACITY} millicores, of which the neighbour's cpu (its
 * cgroup's cpuacct.usage: `CgroupIdle`) is busy. The controller, its cgroup writes and the kernel's
 * enforcement are the real ones. The thresholds make the neighbour's 150 millicores enough to take
 * the loan back, which two busy loops get even on a loaded machine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { CgroupIdle } from '../../agent/cpu-lend/idle.js';
import { Limits, TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { galaxy } from '../helpers/processes.js';

const MiB = 1024 ** 2;
const INTERVAL_MS = 200;
const CAPACITY = 1000;
const REQUEST = 100; // the soft container's millicores: a 10 ms quota per 100 ms period
const STEP = 100;
const driver = detectCgroupDriver();
let cluster: KernelCluster;

/** The task whose cgroup's cpu is busy cpu of the virtual machine, once there is one. */
let neighbour: string | undefined;
/** The cgroup of a task's container, once the agent has it. */
function cgroupOf(taskId: string): string | undefined {
  const runner = [...cluster.agent.tasks.values()].find((r) => r.info.taskId === taskId);
  return runner && `${cluster.cgroupRoot}/${runner.containerId}`;
}
const idle = new CgroupIdle(driver, CAPACITY, () => {
  const cgroup = neighbour === undefined ? undefined : cgroupOf(neighbour);
  return cgroup === undefined ? [] : [cgroup];
});

beforeAll(async () => {
  cluster = await startKernelCluster({
    name: 'cpulend',
    resources: 'cpus:2;mem:1GiB',
    isolation: 'cpu,memory,pids',
    // Patience of 50 intervals: on a loaded machine the container may not use all of its loan, and
    // must not give it back a step at a time before the neighbour comes (that would hide a reclaim).
    cpuLend: { intervalMs: INTERVAL_MS, highIdle: 900, lowIdle: 850, step: STEP, maxLoan: 600, patience: 50, idle },
  });
});

afterAll(async () => {
  expect(await cluster.stop()).toEqual([]);
});

/** The CFS quota of the task's container, in millicores, as the kernel has it. */
async function quotaOf(taskId: string): Promise<number> {
  const cgroup = cgroupOf(taskId);
  if (cgroup === undefined) throw new Error(`no task ${taskId}`);
  return Number(await driver.get('cpu', cgroup, 'cpu.cfs_quota_us')) / 100;
}

/** Cores the task used over `ms`. */
async function coresOver(taskId: string, ms: number): Promise<number> {
  const frameworkId = await cluster.fw.frameworkId;
  const before = (await cluster.agent.usage(frameworkId, taskId)).cpuSeconds ?? 0;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const after = (await cluster.agent.usage(frameworkId, taskId)).cpuSeconds ?? 0;
  return (after - before) / ((performance.now() - t0) / 1000);
}

describe('cpu lending', () => {
  it(
    'lends idle cpu to a busy soft-limited container and takes it back when a neighbour gets busy',
    { timeout: 90_000 },
    async () => {
      const soft = await cluster.launch({
        shell: 'while :; do :; done',
        resources: { cpus: REQUEST, mem: 32 * MiB, disk: 0, gpus: 0, ports: [] },
        limits: Limits.fromPartial({ cpuExcess: true }),
      });
      await cluster.until(soft, [TaskState.TASK_RUNNING]);
      try {
        // The loan comes in steps of 100 while the (virtual) machine is idle, up to 600.
        await eventually(
          async () => (await quotaOf(soft)) >= REQUEST + 300,
          20 * 1000,
          'a loan of 300 millicores or more',
        );
        const lentCores = await coresOver(soft, 1500);
        expect(lentCores).toBeGreaterThan((1.5 * REQUEST) / 1000); // the kernel lets it run past its request
        const frameworkId = await cluster.fw.frameworkId;
        expect((await cluster.agent.usage(frameworkId, soft)).cpuLentMillicores).toBeGreaterThanOrEqual(100);
        const metrics = await cluster.agent.metrics.registry.metrics();
        expect(Number(/^galaxy_agent_cpu_lent_millicores (\d+)/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(100);
        // Operators see it too: master → agent → `galaxy tasks --usage`.
        const cli = galaxy(['tasks', '--usage', '-o', 'json', '--master', cluster.master.address]);
        expect(await cli.exited).toBe(0);
        const listed = JSON.parse(cli.lines.items.join('\n')) as {
          taskId: string;
          usage: { cpuLentMillicores: number };
        }[];
        expect(listed.find((t) => t.taskId === soft)?.usage.cpuLentMillicores).toBeGreaterThan(0);

        // A hard-limited neighbour gets busy (two loops, one core at most).
        neighbour = await cluster.launch({
          shell: '(while :; do :; done) & while :; do :; done',
          resources: { cpus: 1000, mem: 32 * MiB, disk: 0, gpus: 0, ports: [] },
        });
        await cluster.until(neighbour, [TaskState.TASK_RUNNING]);
        const busy = performance.now();
        // Watched more often than the controller acts, to tell a reclaim (one drop to the quota)
        // from a loan its container stopped using and gives back a step at a time.
        let before = await quotaOf(soft);
        for (let now = before; now !== REQUEST; now = await quotaOf(soft)) {
          before = now;
          if (performance.now() - busy > 20_000) throw new Error(`still lent ${now - REQUEST} after 20 s`);
          await new Promise((r) => setTimeout(r, 20));
        }
        const intervals = (performance.now() - busy) / INTERVAL_MS;
        // Two samples make the neighbour's first rate; a loaded machine delays the timers.
        expect(intervals).toBeLessThan(10);
        expect(before).toBeGreaterThan(REQUEST + STEP);
        expect(cluster.agent.cpuLend.reclaims).toBeGreaterThanOrEqual(1);
        expect((await cluster.agent.usage(frameworkId, soft)).cpuLentMillicores).toBe(0);
        // And the kernel holds it there while the neighbour stays busy.
        expect(await coresOver(soft, 1500)).toBeLessThan((1.3 * REQUEST) / 1000);
        expect(await quotaOf(soft)).toBe(REQUEST);
      } finally {
        if (neighbour) expect((await cluster.kill(neighbour)).state).toBe(TaskState.TASK_KILLED);
        expect((await cluster.kill(soft)).state).toBe(TaskState.TASK_KILLED);
      }
    },
  );
});
