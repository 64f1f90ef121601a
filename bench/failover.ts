/**
 * Benchmark: master failover on ZooKeeper. Three `galaxy master` processes contend through a real
 * 3-node ensemble on loopback; 50 agents (real `Agent`s in this process, with a launcher that starts
 * nothing) run 500 tasks of one framework. The leading master is killed with SIGKILL, several times
 * (each killed master comes back as a standby), and each time the benchmark measures, from the kill:
 *
 * - `new_leader_s`: until another master answers operator calls as the leader;
 * - `all_reregistered_s`: until that leader lists every agent active and the framework active;
 * - `tasks_lost`: tasks not TASK_RUNNING on the new leader once all re-registered, plus any the
 *   framework saw end.
 *
 * Medians over the runs. Prints progress on stderr and one JSON line last on stdout.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAgent, type Agent } from '../agent/agent.js';
import { agentJoinToken } from '../cli/local-identity.js';
import { openCoordinator } from '../core/coordinator/index.js';
import { UserStore } from '../core/tenancy/users.js';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import { startZkEnsemble, type ZkEnsemble } from '../core/testing/zk-ensemble.js';
import { Fleet } from './failover/fleet.js';
import { idleLauncher } from './failover/idle-launcher.js';
import { killAllMasters, startMasterProcess, type MasterProcess } from './failover/master-process.js';
import { poll, Probe } from './failover/probe.js';

const AGENTS = Number(process.env.BENCH_FAILOVER_AGENTS ?? 50);
const TASKS_PER_AGENT = Number(process.env.BENCH_FAILOVER_TASKS_PER_AGENT ?? 10);
const RUNS = Number(process.env.BENCH_FAILOVER_RUNS ?? 5);
/** How long a killed leader's candidacy outlives it in ZooKeeper (the ensemble allows 1 s and up). */
const SESSION_MS = Number(process.env.BENCH_FAILOVER_SESSION_MS ?? 2000);
const TASKS = AGENTS * TASKS_PER_AGENT;
/** Past this, a failover counts as failed rather than slow. */
const FAILOVER_TIMEOUT_MS = 60_000;

/** One failover as measured. */
interface Run {
  new_leader_s: number;
  all_reregistered_s: number;
  tasks_lost: number;
  /** When the new master printed that it leads. */
  elected_s: number | undefined;
  /** Agents' re-registrations: the first, the median and the last. */
  agents_s: [number, number, number];
  /** The framework's re-subscription. */
  framework_s: number | undefined;
}

function seconds(ms: number): number {
  return Number((ms / 1000).toFixed(3));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return Number((value ?? 0).toFixed(3));
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

// Killed by a signal, still run the exit hooks that kill the JVMs and the masters.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

const dir = await mkdtemp(join(tmpdir(), 'galaxy-bench-failover-'));
process.on('exit', () => {
  rmSync(dir, { recursive: true, force: true });
});
let ensemble: ZkEnsemble | undefined;
const agents: Agent[] = [];
let fleet: Fleet | undefined;
const probes = new Map<MasterProcess, Probe>();
/** When each agent last (re-)registered. */
const registeredAt = new Map<Agent, number>();

/** The master that answers as the leader now, polled until one does. */
async function leader(candidates: readonly MasterProcess[], timeoutMs: number): Promise<MasterProcess> {
  return poll(
    'a master to lead',
    async () => {
      const answers = await Promise.all(candidates.map((m) => probes.get(m)?.leads() ?? Promise.resolve(false)));
      return candidates[answers.indexOf(true)];
    },
    timeoutMs,
  );
}

let adminToken = '';

/** A fresh admin token in the coordinator (user `admin`, made if absent). */
async function adminTokenIn(url: string): Promise<string> {
  const coordinator = await openCoordinator(url);
  const users = await UserStore.open(coordinator);
  try {
    if (await users.get('admin')) return await users.issueToken('admin');
    return (await users.add('admin', { admin: true })).token;
  } finally {
    users.close();
    await coordinator.close();
  }
}

async function startMaster(coordinator: string): Promise<MasterProcess> {
  const master = await startMasterProcess(coordinator);
  probes.set(master, new Probe(master.address, adminToken));
  return master;
}

/** Kills the leader and measures until the cluster is whole again on another master. */
async function failover(masters: MasterProcess[], frameworkId: string): Promise<Run> {
  const old = await leader(masters, 10_000);
  const rest = masters.filter((m) => m !== old);
  registeredAt.clear();
  const resubscriptions = fleet?.resubscribedAt.length ?? 0;
  const killedAt = performance.now();
  await old.kill();
  probes.get(old)?.close();
  probes.delete(old);

  const next = await leader(rest, FAILOVER_TIMEOUT_MS);
  const newLeaderMs = performance.now() - killedAt;
  const probe = probes.get(next);
  if (!probe) throw new Error('no probe for the new leader');
  await poll(
    'every agent and the framework to come back',
    async () => {
      const [listed, frameworks] = await Promise.all([probe.agents(), probe.frameworks()]).catch(() => [[], []]);
      const active = listed.filter((a) => a.active).length;
      const framework = frameworks.some((f) => f.info?.id === frameworkId && f.active);
      return active === AGENTS && framework ? true : undefined;
    },
    FAILOVER_TIMEOUT_MS,
  );
  const allMs = performance.now() - killedAt;

  // Tasks come with their agents' re-registrations; give stragglers' updates a moment anyway.
  let notRunning = new Set<string>();
  await poll(
    'every task to run on the new leader',
    async () => {
      const tasks = await probe.tasks(frameworkId).catch(() => []);
      const running = new Set(tasks.filter((t) => t.state === TaskState.TASK_RUNNING).map((t) => t.taskId));
      notRunning = new Set([...(fleet?.states.keys() ?? [])].filter((id) => !running.has(id)));
      return notRunning.size === 0 ? true : undefined;
    },
    5000,
    100,
  ).catch(() => undefined);
  const lost = new Set([...notRunning, ...(fleet?.ended.keys() ?? [])]);

  const agentTimes = [...registeredAt.values()].map((t) => t - killedAt).sort((a, b) => a - b);
  const ledAt = next.ledAt();
  const resubscribedAt = fleet?.resubscribedAt[resubscriptions];
  return {
    new_leader_s: seconds(newLeaderMs),
    all_reregistered_s: seconds(allMs),
    tasks_lost: lost.size,
    elected_s: ledAt === undefined ? undefined : seconds(ledAt - killedAt),
    agents_s: [
      seconds(agentTimes[0] ?? NaN),
      seconds(agentTimes[Math.floor(agentTimes.length / 2)] ?? NaN),
      seconds(agentTimes.at(-1) ?? NaN),
    ],
    framework_s: resubscribedAt === undefined ? undefined : seconds(resubscribedAt - killedAt),
  };
}

try {
  const started = performance.now();
  log('starting a 3-node ZooKeeper ensemble');
  ensemble = await startZkEnsemble(3);
  const coordinator = `zk://${ensemble.connectString}/galaxy-bench-failover?session=${SESSION_MS}ms`;
  // `galaxy master --coordinator` authenticates: one admin for the probes and the fleet; the agents
  // join with one join token and re-register after the failover with their own credentials.
  adminToken = await adminTokenIn(coordinator);
  const joinToken = await agentJoinToken(coordinator, 10 * 60_000, AGENTS);
  const masters: MasterProcess[] = [];
  for (let i = 0; i < 3; i++) masters.push(await startMaster(coordinator));
  await leader(masters, 15_000);
  log(`3 masters: ${masters.map((m) => m.address).join(', ')}`);

  for (let i = 0; i < AGENTS; i++) {
    const agent = await startAgent({
      master: coordinator,
      workDir: join(dir, `agent-${i}`),
      hostname: `bench-agent-${i}`,
      resources: 'cpus:2;mem:2GiB;disk:1GiB',
      launcher: idleLauncher(),
      logLevel: 'silent',
      token: joinToken,
    });
    agent.hooks.registered.tap('bench-failover', () => {
      registeredAt.set(agent, performance.now());
    });
    agents.push(agent);
  }
  fleet = new Fleet({ master: coordinator, tasksPerAgent: TASKS_PER_AGENT, token: adminToken });
  const frameworkId = await fleet.driver.start();
  await poll('every task to run', () => Promise.resolve(fleet?.running() === TASKS ? true : undefined), 60_000, 100);
  log(`${AGENTS} agents, ${TASKS} tasks running (setup ${seconds(performance.now() - started)} s)`);

  const runs: Run[] = [];
  for (let r = 0; r < RUNS; r++) {
    const run = await failover(masters, frameworkId);
    runs.push(run);
    log(`run ${r + 1}/${RUNS}: ${JSON.stringify(run)}`);
    // The killed master comes back as a standby, so every run starts with three.
    const i = masters.findIndex((m) => m.child.exitCode !== null || m.child.signalCode !== null);
    if (i >= 0) masters[i] = await startMaster(coordinator);
    // Let the backoffs of agents and framework reset and the new standby enter the election.
    await new Promise((r) => setTimeout(r, 1000));
  }

  console.log(
    JSON.stringify({
      bench: 'failover',
      agents: AGENTS,
      tasks: TASKS,
      new_leader_s: median(runs.map((r) => r.new_leader_s)),
      all_reregistered_s: median(runs.map((r) => r.all_reregistered_s)),
      tasks_lost: Math.max(...runs.map((r) => r.tasks_lost)),
      runs: RUNS,
      session_timeout_ms: SESSION_MS,
      all_reregistered_max_s: Math.max(...runs.map((r) => r.all_reregistered_s)),
    }),
  );
} finally {
  for (const probe of probes.values()) probe.close();
  await fleet?.driver.stop();
  await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
  await killAllMasters();
  await ensemble?.stop();
  await rm(dir, { recursive: true, force: true });
}
