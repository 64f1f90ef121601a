/**
 * A fleet of simulated agents in one process: each a {@link SimAgent} with its own identity and
 * stream, sharing a few gRPC connections ({@link ChannelPool}). It counts what happens to them so
 * that the simulator can say how cheap an agent is (memory per agent) and when they all
 * registered; task states go to `onTaskState` for whoever measures placements.
 */
import { performance } from 'node:perf_hooks';
import { channelCredentials, type TlsFiles } from '../core/tls.js';
import type { Logger } from '../core/logger.js';
import { TaskState, type TaskInfo } from '../proto/gen/galaxy/v1/common.js';
import { ChannelPool, DEFAULT_AGENTS_PER_CHANNEL } from './channel-pool.js';
import { reconnectChannelOptions } from '../agent/master-link.js';
import type { SimMachine } from './machines.js';
import { SimAgent } from './sim-agent.js';
import type { SimReclaimOptions } from './sim-reclaim.js';

/** Wall ms between the oversubscription samples of every agent (`reclaim`). */
const RECLAIM_SAMPLE_MS = 1000;

/** How a fleet runs. */
export interface FleetOptions {
  /** The master: `host:port` or a coordinator URL. */
  readonly master: string;
  /** What the agents first register with: a join token (good for as many uses as agents), or an admin's token. */
  readonly token?: string;
  readonly tls?: TlsFiles;
  readonly machines: readonly SimMachine[];
  /** Per machine (same order), its agent's own id and credential, instead of `token`. */
  readonly identities?: readonly ({ readonly agentId: string; readonly credential: string } | undefined)[];
  /** Trace seconds per wall second. */
  readonly speedup: number;
  readonly agentsPerChannel?: number;
  /** Agents started per turn of the event loop (default 250), so that starting thousands stays responsive. */
  readonly startBatch?: number;
  readonly log: Logger;
  /** Every task state change on any agent. */
  readonly onTaskState?: (task: TaskInfo, state: TaskState, at: number, agent: SimAgent) => void;
  /** A task's RUNNING update was acknowledged by its framework. */
  readonly onRunningAcknowledged?: (task: TaskInfo, at: number) => void;
  /** Oversubscribe: every agent reports revocable estimates from the usage model and evicts (./sim-reclaim.ts). */
  readonly reclaim?: SimReclaimOptions;
  /** A task on revocable resources was evicted. */
  readonly onEvicted?: (task: TaskInfo, at: number) => void;
}

/** What the fleet counted. */
export interface FleetStats {
  readonly agents: number;
  /** Agents registered now. */
  readonly connected: number;
  /** Registrations seen, first ones and re-registrations. */
  readonly registrations: number;
  /** Agents the master refused for who they are. */
  readonly refused: number;
  /** Tasks held by the agents (running or with an unacknowledged end). */
  readonly tasks: number;
  readonly running: number;
  /** Tasks started, finished, failed and killed since the fleet started. */
  readonly started: number;
  readonly finished: number;
  readonly failed: number;
  readonly killed: number;
  /** gRPC connections the fleet holds. */
  readonly connections: number;
  /** Heap and RSS of this process, MiB. */
  readonly heapMib: number;
  readonly rssMib: number;
}

function mib(bytes: number): number {
  return Math.round((bytes / 2 ** 20) * 10) / 10;
}

/** Simulated agents in this process. */
export class Fleet {
  readonly agents: SimAgent[] = [];
  private readonly pool: ChannelPool;
  private registrations = 0;
  private refused = 0;
  private running = 0;
  private started = 0;
  private finished = 0;
  private failed = 0;
  private killed = 0;
  /** `performance.now()` of each agent's latest registration, by agent index. */
  readonly registeredAt: number[] = [];
  private stopped = false;
  private reclaimTimer?: NodeJS.Timeout;

  constructor(private readonly options: FleetOptions) {
    this.pool = new ChannelPool(
      channelCredentials(options.tls),
      options.agentsPerChannel ?? DEFAULT_AGENTS_PER_CHANNEL,
      reconnectChannelOptions(options.master),
    );
    options.machines.forEach((machine, index) => {
      this.agents.push(
        new SimAgent({
          master: options.master,
          token: options.identities?.[index]?.credential ?? options.token,
          agentId: options.identities?.[index]?.agentId,
          machine: machine.info,
          transport: this.pool,
          speedup: options.speedup,
          log: options.log,
          reclaim: options.reclaim,
          events: {
            registered: () => {
              this.registrations += 1;
              this.registeredAt[index] = performance.now();
            },
            refused: (agent, error) => {
              this.refused += 1;
              options.log.error({ agent: agent.hostname, code: error.code }, error.message);
            },
            taskState: (agent, task, state, at, before) => {
              this.count(state, before);
              options.onTaskState?.(task, state, at, agent);
            },
            runningAcknowledged: (_agent, task, at) => {
              options.onRunningAcknowledged?.(task, at);
            },
            evicted: (_agent, task, at) => {
              options.onEvicted?.(task, at);
            },
          },
        }),
      );
    });
  }

  /** Starts every agent, `startBatch` per turn of the event loop; resolves once all dialled. */
  async start(): Promise<void> {
    const batch = this.options.startBatch ?? 250;
    if (this.options.reclaim) {
      // Trace time as the agents' tasks play it: wall time since the fleet started × the speed-up.
      const begin = Date.now();
      this.reclaimTimer = setInterval(() => {
        const traceS = ((Date.now() - begin) / 1000) * this.options.speedup;
        for (const agent of this.agents) agent.reclaimSample(traceS);
      }, RECLAIM_SAMPLE_MS);
    }
    for (let i = 0; i < this.agents.length && !this.stopped; i += batch) {
      for (const agent of this.agents.slice(i, i + batch)) agent.start();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Agents registered now. */
  connected(): number {
    let n = 0;
    for (const agent of this.agents) if (agent.connected) n++;
    return n;
  }

  stats(): FleetStats {
    const memory = process.memoryUsage();
    let tasks = 0;
    for (const agent of this.agents) tasks += agent.taskCount;
    return {
      agents: this.agents.length,
      connected: this.connected(),
      registrations: this.registrations,
      refused: this.refused,
      tasks,
      running: this.running,
      started: this.started,
      finished: this.finished,
      failed: this.failed,
      killed: this.killed,
      connections: this.pool.size,
      heapMib: mib(memory.heapUsed),
      rssMib: mib(memory.rss),
    };
  }

  /** Disconnects every agent (their tasks are left as a `kill -9` of the agents would leave them). */
  stop(): void {
    this.stopped = true;
    clearInterval(this.reclaimTimer);
    for (const agent of this.agents) agent.stop();
    this.pool.close();
  }

  private count(state: TaskState, before: TaskState): void {
    const wasRunning = before === TaskState.TASK_RUNNING || before === TaskState.TASK_KILLING;
    if (wasRunning && state !== TaskState.TASK_KILLING) this.running -= 1;
    switch (state) {
      case TaskState.TASK_RUNNING:
        this.started += 1;
        this.running += 1;
        return;
      case TaskState.TASK_FINISHED:
        this.finished += 1;
        return;
      case TaskState.TASK_FAILED:
        this.failed += 1;
        return;
      case TaskState.TASK_KILLED:
        this.killed += 1;
        return;
      default:
        return;
    }
  }
}
