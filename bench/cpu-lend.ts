/**
 * Benchmark: how fast cpu lending reacts, on real cgroups. A busy soft-limited container
 * (`cpu_excess`, 200 millicores) shares the agent with a busy hard-limited neighbour (1000
 * millicores, two loops) that is made idle and busy again by freezing and thawing its cgroup (no
 * polling loop of its own, which would cost cpu while idle). Each cycle measures:
 *
 * - lend: neighbour idle → the soft container's CFS quota above its request (a loan granted);
 * - reclaim: neighbour busy → the soft container's quota back at its request.
 *
 * Idleness comes from `BENCH_CPULEND_IDLE`: `cgroup` (default) is a virtual machine of 1000
 * millicores less the neighbour's cgroup usage (`CgroupIdle`; lend above 900 idle, reclaim under
 * 850, so the neighbour's first 150 millicores take the loan back), so that other work on a shared
 * machine does not decide the result; `proc` is the kernel's own count (`/proc/stat`), meaningful
 * on an otherwise idle machine only. Needs root and cgroups. Progress on stderr, one JSON line last.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent } from '../agent/agent.js';
import { detectCgroupDriver } from '../agent/cgroups/index.js';
import { CgroupIdle, ProcStatIdle } from '../agent/cpu-lend/idle.js';
import { startMaster } from '../master/master.js';
import { Limits, TaskState, type TaskInfo } from '../proto/gen/galaxy/v1/common.js';
import { GrpcSchedulerDriver } from '../frameworks/sdk/index.js';

const CYCLES = Number(process.env.BENCH_CPULEND_CYCLES ?? 5);
const INTERVAL_MS = Number(process.env.BENCH_CPULEND_INTERVAL_MS ?? 250);
const IDLE = process.env.BENCH_CPULEND_IDLE ?? 'cgroup';
const REQUEST = 200;
const TIMEOUT_MS = 30_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Number((sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN).toFixed(1));
}

const cgroups = detectCgroupDriver();
const cgroupRoot = `galaxy-bench-cpulend-${randomBytes(4).toString('hex')}`;
const workDir = await mkdtemp(join(tmpdir(), 'galaxy-bench-cpulend-'));
let neighbourCgroup: string | undefined;
const idle =
  IDLE === 'proc'
    ? new ProcStatIdle()
    : new CgroupIdle(cgroups, 1000, () => (neighbourCgroup === undefined ? [] : [neighbourCgroup]));
const thresholds =
  IDLE === 'proc' ? { highIdle: 600, lowIdle: 400, step: 200 } : { highIdle: 900, lowIdle: 850, step: 100 };
const master = await startMaster({ listen: '127.0.0.1:0', insecureNoAuth: true, logLevel: 'silent' });
const agent = await startAgent({
  master: master.address,
  workDir,
  resources: 'cpus:2;mem:1GiB',
  isolation: 'cpu,memory,pids',
  cgroupRoot,
  logLevel: 'silent',
  cpuLend: { intervalMs: INTERVAL_MS, maxLoan: 1000, patience: 1000, ...thresholds, idle },
});

const running = new Map<string, () => void>();
const driver = new GrpcSchedulerDriver({
  master: master.address,
  framework: { name: 'bench-cpulend' },
  logger: undefined,
  scheduler: {
    offers: (d, offers) => {
      const ids = offers.map((o) => o.id);
      const task = pending.shift();
      void (task ? d.launch(ids, [task], { refuseSeconds: 0 }) : d.decline(ids)).catch((error: unknown) => {
        process.stderr.write(`offer: ${String(error)}\n`);
      });
    },
    update: (_d, status) => {
      if (status.state === TaskState.TASK_RUNNING) running.get(status.taskId)?.();
    },
  },
});
const pending: TaskInfo[] = [];

/** Launches a task and waits until it runs; returns its container's cgroup. */
async function launch(taskId: string, shell: string, cpus: number, excess: boolean) {
  const started = new Promise<void>((resolve) => running.set(taskId, resolve));
  pending.push({
    taskId,
    name: taskId,
    agentId: '',
    resources: { cpus, mem: 32 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    labels: [],
    killGraceS: 1,
    volumes: [],
    limits: Limits.fromPartial({ cpuExcess: excess }),
    command: { shell, argv: [], env: {}, user: '' },
  });
  await driver.revive();
  await started;
  const runner = [...agent.tasks.values()].find((r) => r.info.taskId === taskId);
  if (!runner) throw new Error(`${taskId} is not on the agent`);
  return { cgroup: `${cgroupRoot}/${runner.containerId}` };
}

/** Ms until the soft container's quota (millicores) passes `test`. */
async function until(cgroup: string, test: (millicores: number) => boolean): Promise<number> {
  const t0 = performance.now();
  while (!test(Number(await cgroups.get('cpu', cgroup, 'cpu.cfs_quota_us')) / 100)) {
    if (performance.now() - t0 > TIMEOUT_MS) throw new Error(`no reaction in ${TIMEOUT_MS} ms`);
    await sleep(5);
  }
  return performance.now() - t0;
}

const lend: number[] = [];
const reclaim: number[] = [];
try {
  await driver.start();
  const soft = await launch('soft', 'while :; do :; done', REQUEST, true);
  const neighbour = await launch('neighbour', '(while :; do :; done) & while :; do :; done', 1000, false);
  neighbourCgroup = neighbour.cgroup;
  // Start from a reclaim: the neighbour busy, the soft container at its request.
  await until(soft.cgroup, (m) => m === REQUEST);
  for (let cycle = 0; cycle < CYCLES; cycle += 1) {
    await cgroups.freeze(neighbour.cgroup, true);
    lend.push(await until(soft.cgroup, (m) => m > REQUEST));
    // Let the loan grow before the neighbour comes, so that a reclaim has something to take.
    await until(soft.cgroup, (m) => m >= REQUEST + 3 * thresholds.step);
    await cgroups.freeze(neighbour.cgroup, false);
    reclaim.push(await until(soft.cgroup, (m) => m === REQUEST));
    console.error(`cycle ${cycle + 1}: lend ${lend.at(-1)?.toFixed(0)} ms, reclaim ${reclaim.at(-1)?.toFixed(0)} ms`);
  }
} finally {
  if (neighbourCgroup !== undefined) await cgroups.freeze(neighbourCgroup, false).catch(() => undefined);
  await driver.teardown().catch(() => undefined);
  await agent.stop();
  await master.stop();
  await rm(workDir, { recursive: true, force: true });
}
console.log(
  JSON.stringify({
    bench: 'cpu-lend',
    idle: IDLE,
    interval_ms: INTERVAL_MS,
    cycles: CYCLES,
    lend_ms_p50: median(lend),
    reclaim_ms_p50: median(reclaim),
    lend_intervals_p50: Number((median(lend) / INTERVAL_MS).toFixed(2)),
    reclaim_intervals_p50: Number((median(reclaim) / INTERVAL_MS).toFixed(2)),
    load1: Number(loadavg()[0]?.toFixed(2)),
  }),
);
process.exit(0);
