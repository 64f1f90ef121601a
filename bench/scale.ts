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
 * - `placed_per_s`: `BENCH_SCALE_TASKS` batch tasks (default 132,982, the tasks running at the
 *   trace's start), submit → every task's RUNNING acknowledged at its agent (`scale-placement.ts`);
 * - `pods_per_s`: `BENCH_SCALE_PODS` AppMaster pods (default 50,000), submit → every pod's task
 *   RUNNING (`scale-placement.ts`); 0 skips either;
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
import { startCell, until, type Cell } from '../sim/cell.js';
import { summarizeProfile, type CpuProfile } from '../sim/cpu-profile.js';
import { rssMib } from '../sim/replay.js';
import { DEFAULT_SCALE, parseMachinesCsv } from '../sim/machines.js';
import { measurePlaced, measurePods, TaskCounts } from './scale-placement.js';

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

const counts = new TaskCounts();
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
    onTaskEvents: counts.onTaskEvents,
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

  if (TASKS > 0) Object.assign(result, await measurePlaced(c, TASKS, counts, log));
  if (PODS > 0) Object.assign(result, await measurePods(c, PODS, counts, log));
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
