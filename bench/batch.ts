/**
 * Benchmark: 1,000 trivial tasks (`true`, 0.1 cpu, 16 MiB) through the batch framework on a local
 * cluster — one agent with real cgroup isolation — timed from submit until all have finished;
 * 10,000 as a second figure; and the peers `slurm.sh 1000` and `crun.sh 1000 16` (bench/peers.ts)
 * in the same run: `ratio_vs_slurm` (goal ≥ 4) and `ratio_vs_crun`, Galaxy's tasks per second
 * over crun's containers per second (goal ≥ 1.0).
 *
 * The agent offers 32 cpus on this 2-core machine: 16× over-subscription, as the Slurm peer is
 * configured (OverSubscribe=FORCE:16). Prints one JSON line last.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Batch } from '../cli/batch-client.js';
import { createLogger } from '../core/logger.js';
import { runFramework } from '../frameworks/host/host.js';
import { startMaster } from '../master/master.js';
import { BatchJobSpec, BatchJobState } from '../proto/gen/galaxy/v1/batch.js';
import { ratio, runPeer } from './peers.js';

const LARGE = Number(process.env.BENCH_BATCH_LARGE ?? 10_000);
/** A directory for `--cpu-prof` profiles of the agent process (the bench's own: run node with --cpu-prof). */
const PROFILE_DIR = process.env.BENCH_AGENT_CPU_PROF_DIR;
// The machine's 1-minute load average, sampled through the runs (the issue asks that it stay sane).
let loadMax = 0;
const loadSampler = setInterval(() => {
  loadMax = Math.max(loadMax, loadavg()[0] ?? 0);
}, 1000);
const workDir = await mkdtemp(join(tmpdir(), 'galaxy-bench-batch-'));
const master = await startMaster({
  listen: '127.0.0.1:0',
  insecureNoAuth: true,
  logLevel: 'silent',
  timings: { allocationIntervalMs: 200 },
});
/** A free port on 127.0.0.1 for the agent's metrics (it reports how its status updates travelled). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 0;
}
const metricsPort = await freePort();
/** The agent's counter `name` (0 when it cannot be read). */
async function agentCounter(name: string): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.split(' ')[1] ?? 0);
  } catch {
    return 0;
  }
}
// The agent runs as its own process, as in a deployment: master and framework share this one.
const agent = spawn(
  process.execPath,
  [
    ...(PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR] : []),
    fileURLToPath(new URL('../cli/main.js', import.meta.url)),
    'agent',
    '--master',
    master.address,
    '--work-dir',
    workDir,
    '--resources',
    'cpus:32;mem:16GiB',
    '--isolation',
    'cpu,memory,pids',
    '--cgroup-root',
    `galaxy-bench-batch-${randomBytes(4).toString('hex')}`,
    '--metrics-listen',
    `127.0.0.1:${metricsPort}`,
  ],
  { stdio: 'ignore', env: { ...process.env, GALAXY_LOG_LEVEL: 'silent' } },
);
const agentExited = once(agent, 'exit');
while (master.view.agents().length === 0) {
  if (agent.exitCode !== null) throw new Error(`the agent exited with code ${agent.exitCode} before registering`);
  await new Promise((r) => setTimeout(r, 50));
}
const host = await runFramework('batch', {
  master: master.address,
  options: { listen: '127.0.0.1:0' },
  log: createLogger('batch', 'silent'),
});
const batch = new Batch(host.framework.endpoint ?? '');

async function run(tasks: number): Promise<number> {
  const name = `bench-${tasks}-${Date.now().toString(36)}`;
  const start = performance.now();
  await batch.submit(
    BatchJobSpec.fromPartial({
      name,
      command: 'true',
      completions: tasks,
      parallelism: tasks,
      resources: { cpus: 100, mem: 16 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
    }),
  );
  for (;;) {
    const job = await batch.show(name);
    if (job.state === BatchJobState.BATCH_SUCCEEDED) break;
    if (job.state === BatchJobState.BATCH_FAILED || job.state === BatchJobState.BATCH_CANCELLED)
      throw new Error(`job ended ${BatchJobState[job.state]}: ${job.message}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const wall = (performance.now() - start) / 1000;
  process.stderr.write(`${tasks} tasks: ${wall.toFixed(2)} s, ${(tasks / wall).toFixed(1)} tasks/s\n`);
  return wall;
}

try {
  const wall = await run(1000);
  const wall10k = await run(LARGE);
  clearInterval(loadSampler);
  const statusMessages = await agentCounter('galaxy_agent_status_update_messages_total');
  const statusUpdates = await agentCounter('galaxy_agent_status_updates_sent_total');
  const statusRetries = await agentCounter('galaxy_agent_status_update_retries_total');
  batch.close();
  await host.stop();
  agent.kill('SIGTERM');
  await agentExited;
  await master.stop();
  // BENCH_BATCH_PEERS=0 skips the peers (for iterating on Galaxy's side only; ratios are then null).
  const peers = process.env.BENCH_BATCH_PEERS !== '0';
  const slurm = peers ? (runPeer('slurm.sh', [1000])?.wall_s ?? null) : null;
  const crun = peers ? (runPeer('crun.sh', [1000, 16])?.containers_per_s ?? null) : null;
  const perS = Number((1000 / wall).toFixed(1));
  console.log(
    JSON.stringify({
      bench: 'batch',
      tasks: 1000,
      wall_s: Number(wall.toFixed(3)),
      tasks_per_s: perS,
      slurm_wall_s: slurm,
      ratio_vs_slurm: ratio(slurm, wall),
      crun_per_s: crun,
      ratio_vs_crun: ratio(perS, crun),
      tasks_10k: LARGE,
      wall_s_10k: Number(wall10k.toFixed(3)),
      tasks_per_s_10k: Number((LARGE / wall10k).toFixed(1)),
      load_max: Number(loadMax.toFixed(1)),
      status_updates_per_message: statusMessages > 0 ? Number((statusUpdates / statusMessages).toFixed(2)) : null,
      status_update_retries: statusRetries,
    }),
  );
} finally {
  await rm(workDir, { recursive: true, force: true });
}
