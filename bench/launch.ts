/**
 * Benchmark: 200 sequential launches of /bin/true through the framework API into Linux
 * containers (cpu, memory and pids isolators; pid, mount, uts and ipc namespaces). Measures
 * ACCEPT → TASK_RUNNING and ACCEPT → TASK_FINISHED as the framework sees them, and runs the
 * peers `runc.sh N` and `crun.sh N` (bench/peers.ts) in the same run for their time per container:
 * `ratio_finished_vs_crun` is FINISHED p50 over crun's time per container (goal ≤ 1.0).
 *
 * Needs root and cgroups. Prints progress on stderr and one JSON line last on stdout.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent } from '../agent/agent.js';
import { traceLaunch } from '../agent/launch-trace.js';
import { startMaster } from '../master/master.js';
import { TaskState, type Offer } from '../proto/gen/galaxy/v1/common.js';
import { GrpcSchedulerDriver } from '../frameworks/sdk/index.js';
import { ratio, runPeer } from './peers.js';

const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 200);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number((sorted[i] ?? 0).toFixed(2));
}

const workDir = await mkdtemp(join(tmpdir(), 'galaxy-bench-launch-'));
const master = await startMaster({ listen: '127.0.0.1:0', insecureNoAuth: true, logLevel: 'silent' });
const agent = await startAgent({
  master: master.address,
  workDir,
  resources: 'cpus:2;mem:2GiB',
  isolation: 'cpu,memory,pids',
  cgroupRoot: `galaxy-bench-${randomBytes(4).toString('hex')}`,
  logLevel: 'silent',
});

const offers: Offer[] = [];
let waiting: (() => void) | undefined;
const marks = new Map<string, { accept: number; running?: number; finished?: number; done: () => void }>();
const driver = new GrpcSchedulerDriver({
  master: master.address,
  framework: { name: 'bench-launch' },
  logger: undefined,
  scheduler: {
    offers: (_d, o) => {
      offers.push(...o);
      waiting?.();
    },
    rescind: (_d, id) => {
      const i = offers.findIndex((o) => o.id === id);
      if (i >= 0) offers.splice(i, 1);
    },
    update: (_d, status) => {
      const mark = marks.get(status.taskId);
      if (!mark) return;
      traceLaunch(status.taskId, `framework got ${TaskState[status.state]}`);
      if (status.state === TaskState.TASK_RUNNING) mark.running ??= performance.now();
      if (status.state === TaskState.TASK_FINISHED) {
        mark.finished = performance.now();
        mark.done();
      } else if (status.state !== TaskState.TASK_STARTING && status.state !== TaskState.TASK_RUNNING) {
        process.stderr.write(`task ${status.taskId}: ${TaskState[status.state]} ${status.message}\n`);
        mark.done();
      }
    },
  },
});

try {
  await driver.start();
  const running: number[] = [];
  const finished: number[] = [];
  for (let i = -5; i < LAUNCHES; i++) {
    while (offers.length === 0) await new Promise<void>((r) => (waiting = r));
    const offerIds = offers.splice(0).map((o) => o.id);
    const taskId = `t${i + 5}`;
    const done = new Promise<void>((r) => marks.set(taskId, { accept: performance.now(), done: r }));
    const mark = marks.get(taskId);
    if (mark) mark.accept = performance.now();
    traceLaunch(taskId, 'ACCEPT');
    await driver.launch(
      offerIds,
      [
        {
          taskId,
          name: taskId,
          agentId: '',
          resources: { cpus: 100, mem: 64 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
          command: { shell: '', argv: ['/bin/true'], env: {}, user: '' },
          labels: [],
          killGraceS: 1,
          volumes: [],
        },
      ],
      { refuseSeconds: 0 },
    );
    await done;
    if (i >= 0 && mark?.running !== undefined && mark.finished !== undefined) {
      running.push(mark.running - mark.accept);
      finished.push(mark.finished - mark.accept);
    }
    if (i >= 0 && (i + 1) % 50 === 0)
      process.stderr.write(`${i + 1} launches, p50 running ${percentile(running, 50)} ms\n`);
  }
  await driver.teardown();
  await agent.stop();
  await master.stop();
  const runc = runPeer('runc.sh', [LAUNCHES])?.ms_per_container ?? null;
  const crun = runPeer('crun.sh', [LAUNCHES])?.ms_per_container ?? null;
  const p50 = percentile(running, 50);
  const finishedP50 = percentile(finished, 50);
  console.log(
    JSON.stringify({
      bench: 'launch',
      launches: running.length,
      p50_ms: p50,
      p99_ms: percentile(running, 99),
      finished_p50_ms: finishedP50,
      finished_p99_ms: percentile(finished, 99),
      runc_ms_per_container: runc,
      ratio_p50_vs_runc: ratio(p50, runc),
      crun_ms_per_container: crun,
      ratio_finished_vs_crun: ratio(finishedP50, crun),
    }),
  );
} finally {
  await rm(workDir, { recursive: true, force: true });
}
