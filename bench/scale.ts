/**
 * Benchmark: a Borg cell on one master (issue 16, `npm run bench:scale [-- --agents N]`). One
 * simulated agent per machine of google2011's shard 0 (`machines.csv`: the 12,397 of its 12,489
 * rows with a capacity; `--agents N` or `BENCH_SCALE_AGENTS` takes the first N), in shard processes
 * of `galaxy sim agents`, against a real `galaxy master` process and a standby on a real ZooKeeper
 * (`BENCH_SCALE_ZK_NODES` servers, default 1); the batch framework and the AppMaster run in this
 * process. The agents find the leader through ZooKeeper. It measures, in order:
 *
 * - `register_s`: from the agents' start until the master has every one registered (each with its
 *   own credential, issued beforehand: a restart of a cell whose agents joined earlier);
 * - `master_idle_cpu_pct`, `master_idle_rss_mib`: the leader over 10 s, every agent connected,
 *   nothing changing;
 * - `placed_per_s`: `--tasks` / `BENCH_SCALE_TASKS` batch tasks (default 132,982, the tasks running
 *   at the trace's start; scaled down with `--agents`), submit → every task's RUNNING acknowledged
 *   at its agent (`scale-placement.ts`). These are the tasks the rest of the benchmark runs with;
 * - `pods_per_s`: `--pods` / `BENCH_SCALE_PODS` AppMaster pods (default 50,000), submit → every
 *   pod's task RUNNING (`scale-placement.ts`); 0 skips either;
 * - `alloc_p50_ms`: the median allocation pass of the leader (GetMasterStats) over 15 s with all of
 *   that running, and `master_loaded_cpu_pct` over the same time;
 * - `master_rss_mib`: the leader's RSS with all of that running;
 * - `failover_s`: SIGKILL the leader → the standby leads and has every agent connected and every task
 *   RUNNING again; `tasks_lost`: tasks that ended meanwhile or that the new leader does not see
 *   running (`BENCH_SCALE_FAILOVER=0` skips it);
 * - `sim_memory_per_agent_kib`, `sim_rss_mib`: what the simulator costs.
 *
 * `BENCH_SCALE_CPU_PROF=<dir>` writes the masters' CPU profiles there and prints the top functions
 * of the newest. Progress on stderr, one JSON line last on stdout, also when a step fails (with
 * `error` and the figures measured until then).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { tracesDir } from '../sim/trace/paths.js';
import { startCell, until, type Cell } from '../sim/cell.js';
import { summarizeProfile, type CpuProfile } from '../sim/cpu-profile.js';
import { rssMib } from '../sim/replay.js';
import { DEFAULT_SCALE, parseMachinesCsv } from '../sim/machines.js';
import { startZkEnsemble, type ZkEnsemble } from '../core/testing/zk-ensemble.js';
import { Probe } from './failover/probe.js';
import { lastLines, measurePlaced, measurePods, TaskCounts } from './scale-placement.js';

const { values: flags } = parseArgs({
  options: { agents: { type: 'string' }, tasks: { type: 'string' }, pods: { type: 'string' } },
});
const TRACES = tracesDir();
const MACHINES = join(TRACES, 'google2011', 'machines.csv');
/** Machines of shard 0 with a capacity (12,397 of its 12,489 rows; the rest are removed or blank). */
const ALL_AGENTS = 12_397;
const AGENTS = parseMachinesCsv(
  readFileSync(MACHINES, 'utf8'),
  DEFAULT_SCALE,
  Number(flags.agents ?? process.env.BENCH_SCALE_AGENTS ?? Infinity),
).length;
/** The tasks running at the trace's start, on the cell's share of the machines. */
const TASKS = Number(flags.tasks ?? process.env.BENCH_SCALE_TASKS ?? Math.round((132_982 * AGENTS) / ALL_AGENTS));
const PODS = Number(flags.pods ?? process.env.BENCH_SCALE_PODS ?? 50_000);
const ZK_NODES = Number(process.env.BENCH_SCALE_ZK_NODES ?? 1);
/** Each ZooKeeper server's heap: a production server's 1 GiB (256 MiB stalls under the cell's writes). */
const ZK_HEAP_MIB = Number(process.env.BENCH_SCALE_ZK_HEAP_MIB ?? 1024);
/** `zk` (default) or `local`: the embedded coordinator, whose masters must share this machine. */
const COORDINATOR = process.env.BENCH_SCALE_COORDINATOR ?? 'zk';
const FAILOVER = process.env.BENCH_SCALE_FAILOVER !== '0';
/**
 * The masters' election session: how long a leader cut off from ZooKeeper holds its place. A killed
 * leader's helper closes its session at once, so this does not bound `failover_s`; on this loaded
 * machine ZooKeeper left a 3 s session unanswered for 2 s, and the leader was (rightly) killed.
 */
const SESSION_MS = Number(process.env.BENCH_SCALE_SESSION_MS ?? 10_000);
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

/** The CPU share of process `pid` over `ms`, percent of one core. */
async function cpuPct(pid: number | undefined, ms: number): Promise<number> {
  const from = cpuMs(pid);
  const at = performance.now();
  await sleep(ms);
  return Math.round(((cpuMs(pid) - from) / (performance.now() - at)) * 1000) / 10;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : (sorted[Math.floor((sorted.length - 1) / 2)] ?? NaN);
}

/** Throws, with its last lines, when a master exited other than by the benchmark's kill. */
function checkAlive(): void {
  if (killing) return;
  for (const m of cell?.masters ?? [])
    if (m.child.exitCode !== null || m.child.signalCode !== null)
      throw new Error(`a master exited (${m.address}):\n${lastLines(m)}`);
}

/** The last lines of every ZooKeeper server's log (why a session was lost). */
async function zkLogTails(): Promise<string> {
  const tails: string[] = [];
  for (const server of ensemble?.servers ?? []) {
    const text = await readFile(join(server.dir, 'server.log'), 'utf8').catch(() => '');
    tails.push(
      `zookeeper ${server.id}:`,
      ...text
        .split('\n')
        .filter((l) => /WARN|ERROR|Exception|OutOfMemory/.test(l))
        .slice(-10),
    );
  }
  return tails.join('\n');
}

/** Polls `check` with progress on stderr every 5 s. */
function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  progress: () => string,
  timeoutMs = 1_800_000,
  progressMs = 5000,
): Promise<void> {
  let last = 0;
  return until(
    what,
    async () => {
      checkAlive();
      const done = await check();
      if (!done && performance.now() - last > progressMs) {
        last = performance.now();
        log(progress());
      }
      return done;
    },
    timeoutMs,
    250,
  );
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

/** Set once the benchmark kills the leader on purpose. */
let killing = false;
const counts = new TaskCounts();
let ended = 0;
const result: Record<string, unknown> = {
  bench: 'scale',
  agents: AGENTS,
  tasks: TASKS,
  pods: PODS,
  coordinator: COORDINATOR === 'local' ? 'local' : `zookeeper×${ZK_NODES}`,
};
let ensemble: ZkEnsemble | undefined;
let cell: Cell | undefined;
const probes: Probe[] = [];
const profileDir = PROFILE_DIR ?? (await mkdtemp(join(tmpdir(), 'galaxy-bench-scale-')));
try {
  if (COORDINATOR !== 'local') {
    log(`starting a ${ZK_NODES}-node ZooKeeper ensemble`);
    ensemble = await startZkEnsemble(ZK_NODES, { heapMib: ZK_HEAP_MIB });
  }
  cell = await startCell({
    agents: AGENTS,
    machineArgs: ['--machines', MACHINES, '--agents', String(AGENTS)],
    speedup: 1,
    identity: 'credential',
    frameworks: true,
    allocationIntervalS: 1,
    coordinator:
      ensemble === undefined ? undefined : `zk://${ensemble.connectString}/galaxy-bench-scale?session=${SESSION_MS}ms`,
    // The frameworks run in this process beside the shards' event counting: a 30 s session, so
    // that a busy moment here does not cost them their leadership (it did at 12,397 agents).
    frameworkCoordinator:
      ensemble === undefined ? undefined : `zk://${ensemble.connectString}/galaxy-bench-scale?session=30000ms`,
    standbys: FAILOVER ? 1 : 0,
    cpuProfDir: PROFILE_DIR,
    // A framework's stream carries two updates of every task it starts (about 250 bytes each):
    // 8 MiB unread, the default bound, is 16,000 updates, which a batch of 10,000 tasks passes while
    // the framework's process is busy for a moment; the master then drops the framework.
    masterArgs: [
      '--limit',
      `maxRecords=${Math.max(100_000, 2 * (TASKS + PODS))}`,
      `streamQueueBytes=${Math.max(8, Math.ceil(((TASKS + PODS) * 2 * 300) / 2 ** 20))}MiB`,
    ],
    onTaskEvents: (events) => {
      counts.onTaskEvents(events);
      for (const [, kind] of events) if (kind === 'e') ended += 1;
    },
  });
  const c = cell;
  const leader = c.master;
  const probe = new Probe(leader.address, c.adminToken);
  probes.push(probe);
  const started = performance.now();
  await waitFor(
    `${AGENTS} agents to register`,
    () => {
      const failure = c.shards.failure();
      if (failure) throw new Error(failure);
      return c.shards.connected() === AGENTS;
    },
    () => `${seconds(performance.now() - started)} s: ${c.shards.connected()} agents registered`,
  );
  result.register_s = seconds(performance.now() - started);
  log(`all ${AGENTS} agents registered in ${String(result.register_s)} s`);

  await sleep(5000);
  result.master_idle_cpu_pct = await cpuPct(leader.child.pid, 10_000);
  result.master_idle_rss_mib = rssMib(leader.child.pid);
  log(`master idle: ${String(result.master_idle_cpu_pct)} % cpu, ${String(result.master_idle_rss_mib)} MiB`);

  if (TASKS > 0) Object.assign(result, await measurePlaced(c, TASKS, counts, log, checkAlive));
  if (PODS > 0) Object.assign(result, await measurePods(c, PODS, counts, log, checkAlive));
  await sleep(3000);
  const before = await probe.stats();
  result.master_loaded_cpu_pct = await cpuPct(leader.child.pid, 15_000);
  const after = await probe.stats();
  const passes = after.allocationRuns - before.allocationRuns;
  const recent = after.allocationRecentMs.slice(-Math.max(1, passes));
  result.alloc_p50_ms = Math.round(median(recent) * 100) / 100;
  result.alloc_max_ms = Math.round(Math.max(...recent) * 100) / 100;
  result.alloc_passes = passes;
  result.master_rss_mib = rssMib(leader.child.pid);
  result.status_acks_per_message = Math.round((after.statusAcks / Math.max(1, after.statusAcksSent)) * 10) / 10;
  // Status updates per event to the frameworks (UPDATES batches them), and agents' resends the
  // master did not forward again (`master/frameworks/forwarded-updates.ts`).
  result.updates_per_event = Math.round((after.frameworkUpdates / Math.max(1, after.frameworkUpdateEvents)) * 10) / 10;
  result.resends_held = after.frameworkResendsHeld;
  log(
    `master loaded: ${String(result.master_loaded_cpu_pct)} % cpu, ${String(result.master_rss_mib)} MiB, ` +
      `allocation p50 ${String(result.alloc_p50_ms)} ms over ${passes} passes; ${after.tasksRunning} tasks running`,
  );
  const launched = after.tasksRunning;

  if (FAILOVER) {
    const standby = c.masters[1];
    if (!standby) throw new Error('no standby master');
    const next = new Probe(standby.address, c.adminToken);
    probes.push(next);
    const endedBefore = ended;
    const killedAt = performance.now();
    killing = true;
    await leader.kill();
    log('killed the leader (SIGKILL)');
    let stats = { agentsConnected: 0, tasksRunning: 0 };
    const outcome = { back: true };
    await waitFor(
      'the standby to lead with every agent and task back',
      async () => {
        // A standby refuses operator calls: it answers once it leads.
        stats = await next.stats(2000).catch(() => stats);
        return stats.agentsConnected === AGENTS && stats.tasksRunning >= launched;
      },
      () =>
        `${seconds(performance.now() - killedAt)} s after the kill: ${stats.agentsConnected} agents, ` +
        `${stats.tasksRunning} tasks running on the standby (leads: ${String(standby.ledAt() !== undefined)})`,
      180_000,
      1000,
    ).catch((error: unknown) => {
      outcome.back = false;
      log(String(error));
    });
    result.failover_s = outcome.back ? seconds(performance.now() - killedAt) : null;
    result.failover_leader_s = seconds((standby.ledAt() ?? NaN) - killedAt);
    result.tasks_lost = Math.max(0, launched - stats.tasksRunning) + (ended - endedBefore);
    log(
      `failover: ${JSON.stringify({ s: result.failover_s, leader_s: result.failover_leader_s, lost: result.tasks_lost })}`,
    );
    const errors = standby.errors();
    if (errors.length > 0) log(`the new leader's last errors:\n${errors.slice(-10).join('\n')}`);
  }
  await sleep(1000);
  result.sim_memory_per_agent_kib = c.shards.memoryPerAgentKib();
  result.sim_rss_mib = c.shards.rssMib();
} catch (error) {
  result.error = error instanceof Error ? error.message.slice(0, 500) : String(error);
  if (error instanceof Error) log(error.message);
  for (const m of cell?.masters ?? [])
    if (m.errors().length > 0) log(`errors of the master at ${m.address}:\n${m.errors().slice(-5).join('\n')}`);
  log(`bench:scale failed: ${String(result.error)}`);
  log(await zkLogTails());
  process.exitCode = 1;
} finally {
  for (const probe of probes) probe.close();
  await cell?.stop();
  await ensemble?.stop();
}
if (PROFILE_DIR) {
  const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  const file = files.at(-1);
  if (file) {
    const profile = JSON.parse(await readFile(join(profileDir, file), 'utf8')) as CpuProfile;
    const summary = summarizeProfile(profile, 25);
    log(`master CPU profile ${join(profileDir, file)}: busy ${summary.busyMs} ms of ${summary.wallMs} ms`);
    for (const e of summary.self) log(`  self ${e.selfPct}%  ${e.where}`);
    for (const e of summary.total) log(`  total ${e.totalPct}%  ${e.where}`);
  }
} else await rm(profileDir, { recursive: true, force: true });
console.log(JSON.stringify(result));
