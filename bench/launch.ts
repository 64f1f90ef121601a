/**
 * Benchmark: 200 sequential launches of /bin/true through the framework API into Linux
 * containers (cpu, memory and pids isolators; pid, mount, uts and ipc namespaces). Measures
 * ACCEPT → TASK_RUNNING and ACCEPT → TASK_FINISHED as the framework sees them, and runs
 * `../shared/peers/runc.sh` in the same run for the peer's time per container.
 *
 * Needs root and cgroups. Prints progress on stderr and one JSON line last on stdout.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent } from '../agent/agent.js';
import { startMaster } from '../master/master.js';
import { TaskState, type Offer } from '../proto/gen/galaxy/v1/common.js';
import { GrpcSchedulerDriver } from '../frameworks/sdk/index.js';

const LAUNCHES = Number(process.env.BENCH_LAUNCHES ?? 200);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Number((sorted[i] ?? 0).toFixed(2));
}

function runcPeer(n: number): number | null {
  const script = resolve(process.cwd(), '../shared/peers/runc.sh');
  if (!existsSync(script)) {
    process.stderr.write(`no peer script at ${script}\n`);
    return null;
  }
  try {
    const out =
      execFileSync('bash', [script, String(n)], { encoding: 'utf8', timeout: 600_000 })
        .trim()
        .split('\n')
        .at(-1) ?? '{}';
    return (JSON.parse(out) as { ms_per_container?: number }).ms_per_container ?? null;
  } catch (error) {
    process.stderr.write(`runc peer failed: ${String(error)}\n`);
    return null;
  }
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
  const runc = runcPeer(LAUNCHES);
  const p50 = percentile(running, 50);
  console.log(
    JSON.stringify({
      bench: 'launch',
      launches: running.length,
      p50_ms: p50,
      p99_ms: percentile(running, 99),
      finished_p50_ms: percentile(finished, 50),
      finished_p99_ms: percentile(finished, 99),
      runc_ms_per_container: runc,
      ratio_p50_vs_runc: runc ? Number((p50 / runc).toFixed(2)) : null,
    }),
  );
} finally {
  await rm(workDir, { recursive: true, force: true });
}
