/**
 * Benchmark: a Borg cell on one master (issue 16, `npm run bench:scale`). One simulated agent per
 * machine of google2011's shard 0 (`machines.csv`: the 12,397 of its 12,489 rows with a capacity;
 * `BENCH_SCALE_AGENTS` takes the first N), in
 * shard processes of `galaxy sim agents`, against a real `galaxy master` process; the batch
 * framework and the AppMaster run in this process. It measures:
 *
 * - `register_s`: from the agents' start until the master has every one registered (each with its
 *   own credential, issued beforehand: a restart of a cell whose agents joined earlier);
 * - `master_idle_cpu_pct`: the master's CPU over 10 s with every agent connected and nothing changing;
 * - `placed_per_s`: one batch job of `BENCH_SCALE_TASKS` tasks (default 132,982, the tasks running
 *   at the trace's start), submit → every task RUNNING at its agent;
 * - `pods_per_s`: `BENCH_SCALE_PODS` AppMaster pods (default 50,000, in jobs of 10,000 replicas),
 *   submit → every pod's task RUNNING;
 * - `master_rss_mib`: the master's RSS with all of that running;
 * - `sim_memory_per_agent_kib`: what one simulated agent costs its shard.
 *
 * `BENCH_SCALE_CPU_PROF=<dir>` writes the master's CPU profile there and prints its top functions.
 * Not measured yet: `alloc_p50_ms` (the master reports no allocation timings) and `failover_s`
 * (needs ZooKeeper and standbys; `bench:failover` measures it at 50 agents). Progress on stderr,
 * one JSON line last on stdout.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tracesDir } from '../sim/trace/paths.js';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Batch } from '../cli/batch-client.js';
import { appMasterClient } from '../cli/operator-client.js';
import { BatchJobSpec } from '../proto/gen/galaxy/v1/batch.js';
import { startCell, until, type Cell } from '../sim/cell.js';
import { summarizeProfile, type CpuProfile } from '../sim/cpu-profile.js';
import { rssMib } from '../sim/replay.js';
import { DEFAULT_SCALE, parseMachinesCsv } from '../sim/machines.js';

const TRACES = tracesDir();
const MACHINES = join(TRACES, 'google2011', 'machines.csv');
/** Machines of shard 0 with a capacity (12,397 of its 12,489 rows; the rest are removed or blank). */
const AGENTS = parseMachinesCsv(
  readFileSync(MACHINES, 'utf8'),
  DEFAULT_SCALE,
  Number(process.env.BENCH_SCALE_AGENTS ?? Infinity),
).length;
const TASKS = Number(process.env.BENCH_SCALE_TASKS ?? 132_982);
const PODS = Number(process.env.BENCH_SCALE_PODS ?? 50_000);
const PROFILE_DIR = process.env.BENCH_SCALE_CPU_PROF;
/** Replicas of one AppMaster job at most (the job spec's bound). */
const REPLICAS_PER_JOB = 10_000;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function seconds(ms: number): number {
  return Math.round(ms / 10) / 100;
}

/** User + system CPU time of process `pid` so far, ms (Linux). */
function cpuMs(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid ?? 0}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the command.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

let running = 0;
let lastRunningAt = 0;
const result: Record<string, unknown> = { bench: 'scale', agents: AGENTS, tasks: TASKS, pods: PODS };
let cell: Cell | undefined;
try {
  cell = await startCell({
    agents: AGENTS,
    machineArgs: ['--machines', MACHINES, '--agents', String(AGENTS)],
    speedup: 1,
    identity: 'credential',
    frameworks: true,
    allocationIntervalS: 1,
    cpuProfDir: PROFILE_DIR,
    masterArgs: ['--limit', `maxRecords=${Math.max(100_000, 2 * (TASKS + PODS))}`],
    onTaskEvents: (events) => {
      for (const [, kind, at] of events)
        if (kind === 'r') {
          running += 1;
          lastRunningAt = Math.max(lastRunningAt, at);
        }
    },
  });
  const started = performance.now();
  const c = cell;
  let last = 0;
  await until(
    `${AGENTS} agents to register`,
    () => {
      const failure = c.shards.failure();
      if (failure) throw new Error(failure);
      const connected = c.shards.connected();
      if (performance.now() - last > 5000) {
        last = performance.now();
        log(`${seconds(performance.now() - started)} s: ${connected} agents registered`);
      }
      return connected === AGENTS;
    },
    1_800_000,
  );
  result.register_s = seconds(performance.now() - started);
  log(`all ${AGENTS} agents registered in ${String(result.register_s)} s`);

  await sleep(5000);
  const idleFrom = cpuMs(c.master.child.pid);
  const idleAt = performance.now();
  await sleep(10_000);
  result.master_idle_cpu_pct =
    Math.round(((cpuMs(c.master.child.pid) - idleFrom) / (performance.now() - idleAt)) * 1000) / 10;
  result.master_idle_rss_mib = rssMib(c.master.child.pid);
  log(`master idle: ${String(result.master_idle_cpu_pct)} % cpu, ${String(result.master_idle_rss_mib)} MiB`);

  const batch = new Batch(c.batch?.framework.endpoint ?? '', c.adminToken);
  const submittedAt = Date.now();
  await batch.submit(
    BatchJobSpec.fromPartial({
      name: 'bench-scale',
      command: 'sleep infinity',
      completions: TASKS,
      parallelism: TASKS,
      resources: { cpus: 100, mem: 64 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
    }),
  );
  batch.close();
  await until(
    `${TASKS} batch tasks to run`,
    () => {
      if (performance.now() - last > 5000) {
        last = performance.now();
        log(`${seconds(Date.now() - submittedAt)} s: ${running}/${TASKS} batch tasks running`);
      }
      return running >= TASKS;
    },
    1_800_000,
    500,
  );
  result.placed_s = seconds(lastRunningAt - submittedAt);
  result.placed_per_s = Math.round(TASKS / ((lastRunningAt - submittedAt) / 1000));
  log(`${TASKS} batch tasks running in ${String(result.placed_s)} s: ${String(result.placed_per_s)}/s`);

  if (PODS > 0) {
    const appmaster = appMasterClient(c.appmaster?.framework.endpoint ?? '', c.adminToken);
    const before = running;
    const podsAt = Date.now();
    for (let i = 0; i * REPLICAS_PER_JOB < PODS; i++) {
      await appmaster.submitJob({
        specJson: JSON.stringify({
          name: `bench-pods-${i}`,
          replicas: Math.min(REPLICAS_PER_JOB, PODS - i * REPLICAS_PER_JOB),
          resources: { cpu: { millicores: 100 }, memory: { hard: 64 * 1024 * 1024 } },
          package: { source: 'file:///galaxy-sim/none.tar.gz', version: '1', sha256: '0'.repeat(64) },
          commands: { start: 'sleep infinity' },
          deploy: { deployTimeoutS: 86_400 },
        }),
      });
    }
    appmaster.close();
    await until(
      `${PODS} pods to run`,
      () => {
        if (performance.now() - last > 5000) {
          last = performance.now();
          log(`${seconds(Date.now() - podsAt)} s: ${running - before}/${PODS} pods running`);
        }
        return running - before >= PODS;
      },
      1_800_000,
      500,
    );
    result.pods_per_s = Math.round(PODS / ((lastRunningAt - podsAt) / 1000));
    log(`${PODS} pods running: ${String(result.pods_per_s)}/s`);
  }
  await sleep(3000);
  result.master_rss_mib = rssMib(c.master.child.pid);
  result.sim_memory_per_agent_kib = c.shards.memoryPerAgentKib();
  result.sim_rss_mib = c.shards.rssMib();
} catch (error) {
  result.error = error instanceof Error ? error.message.slice(0, 500) : String(error);
  log(`bench:scale failed: ${String(result.error)}`);
  process.exitCode = 1;
} finally {
  await cell?.stop();
}
if (PROFILE_DIR) {
  const file = readdirSync(PROFILE_DIR)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .at(-1);
  if (file) {
    const summary = summarizeProfile(JSON.parse(readFileSync(join(PROFILE_DIR, file), 'utf8')) as CpuProfile, 25);
    log(`master CPU profile ${join(PROFILE_DIR, file)}: busy ${summary.busyMs} ms of ${summary.wallMs} ms`);
    for (const e of summary.self) log(`  self ${e.selfPct}%  ${e.where}`);
    for (const e of summary.total) log(`  total ${e.totalPct}%  ${e.where}`);
  }
}
console.log(JSON.stringify(result));
