/**
 * Benchmark: 1,000 trivial tasks (`true`, 0.1 cpu, 16 MiB) through the batch framework on a local
 * cluster — one agent with real cgroup isolation — timed from submit until all have finished;
 * 10,000 as a second figure; and `../shared/peers/slurm.sh 1000` in the same run.
 *
 * The agent offers 32 cpus on this 2-core machine: 16× over-subscription, as the Slurm peer is
 * configured (OverSubscribe=FORCE:16). Prints one JSON line last.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Batch } from '../cli/batch-client.js';
import { createLogger } from '../core/logger.js';
import { runFramework } from '../frameworks/host/host.js';
import { startMaster } from '../master/master.js';
import { BatchJobSpec, BatchJobState } from '../proto/gen/galaxy/v1/batch.js';

function slurmPeer(n: number): number | null {
  const script = resolve(process.cwd(), '../shared/peers/slurm.sh');
  if (!existsSync(script)) return null;
  try {
    const out =
      execFileSync('bash', [script, String(n)], { encoding: 'utf8', timeout: 900_000 })
        .trim()
        .split('\n')
        .at(-1) ?? '{}';
    return (JSON.parse(out) as { wall_s?: number }).wall_s ?? null;
  } catch (error) {
    process.stderr.write(`slurm peer failed: ${String(error)}\n`);
    return null;
  }
}

const LARGE = Number(process.env.BENCH_BATCH_LARGE ?? 10_000);
const workDir = await mkdtemp(join(tmpdir(), 'galaxy-bench-batch-'));
const master = await startMaster({
  listen: '127.0.0.1:0',
  insecureNoAuth: true,
  logLevel: 'silent',
  timings: { allocationIntervalMs: 200 },
});
// The agent runs as its own process, as in a deployment: master and framework share this one.
const agent = spawn(
  process.execPath,
  [
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
  ],
  { stdio: 'ignore', env: { ...process.env, GALAXY_LOG_LEVEL: 'silent' } },
);
const agentExited = once(agent, 'exit');
while (master.view.agents().length === 0) await new Promise((r) => setTimeout(r, 50));
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
  batch.close();
  await host.stop();
  agent.kill('SIGTERM');
  await agentExited;
  await master.stop();
  const slurm = slurmPeer(1000);
  console.log(
    JSON.stringify({
      bench: 'batch',
      tasks: 1000,
      wall_s: Number(wall.toFixed(3)),
      tasks_per_s: Number((1000 / wall).toFixed(1)),
      slurm_wall_s: slurm,
      ratio_vs_slurm: slurm ? Number((slurm / wall).toFixed(2)) : null,
      tasks_10k: LARGE,
      wall_s_10k: Number(wall10k.toFixed(3)),
      tasks_per_s_10k: Number((LARGE / wall10k).toFixed(1)),
    }),
  );
} finally {
  await rm(workDir, { recursive: true, force: true });
}
