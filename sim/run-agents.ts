/**
 * `galaxy sim agents` as a function: starts a fleet, reports on stdout (one JSON line every
 * `reportEveryS`), and, when it runs as a child with an IPC channel (the replayer's and the
 * benchmark's shards), sends its parent what they measure: the fleet's stats, and every task's
 * RUNNING and end, batched. Stops on SIGINT/SIGTERM or when the parent says `stop`.
 */
import { performance } from 'node:perf_hooks';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import { isTerminal } from '../core/task-state.js';
import { Fleet, type FleetOptions, type FleetStats } from './fleet.js';

/**
 * A task event as a shard sends it: task id, `r` (running), `a` (its RUNNING update acknowledged by
 * its framework) or `e` (ended: finished, failed, killed…), wall ms, state. With `--oversubscribe`
 * also `v` (the task runs on revocable resources: sent just before its `r`) and `k` (evicted by
 * its agent's QoS: sent just before its `e`).
 */
export type TaskEventTuple = readonly [
  taskId: string,
  kind: 'r' | 'a' | 'e' | 'v' | 'k',
  atMs: number,
  state: TaskState,
];

/** What a shard sends its parent. */
export type ShardMessage =
  | {
      readonly kind: 'stats';
      readonly stats: FleetStats;
      readonly memoryPerAgentKib: number;
      readonly allRegisteredS?: number;
    }
  | { readonly kind: 'tasks'; readonly events: TaskEventTuple[] };

/** What a parent may send a shard. */
export type ParentMessage = { readonly kind: 'stop' };

/** How `galaxy sim agents` runs: a fleet's options (task states go to the parent), and how often it reports. */
export interface RunAgentsOptions extends Omit<FleetOptions, 'onTaskState' | 'startBatch'> {
  readonly reportEveryS: number;
}

/** Runs the fleet until a signal or the parent's `stop`; resolves with its last stats. */
export async function runAgents(options: RunAgentsOptions): Promise<FleetStats> {
  const parent = process.send?.bind(process);
  let events: TaskEventTuple[] = [];
  // With --expose-gc (the shards run so) memory is measured after a collection, so that the
  // figure per agent is what agents hold, not garbage waiting to be collected.
  const collect = (): NodeJS.MemoryUsage => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage();
  };
  const baseline = collect();
  let lastMemory = 0;
  let memoryKib = NaN;
  const fleet = new Fleet({
    ...options,
    onTaskState: parent
      ? (task, state, at) => {
          if (state === TaskState.TASK_RUNNING) {
            if (task.onRevocable === true) events.push([task.taskId, 'v', at, state]);
            events.push([task.taskId, 'r', at, state]);
          } else if (isTerminal(state)) events.push([task.taskId, 'e', at, state]);
        }
      : undefined,
    onEvicted: parent
      ? (task, at) => {
          events.push([task.taskId, 'k', at, TaskState.TASK_KILLED]);
        }
      : undefined,
    onRunningAcknowledged: parent
      ? (task, at) => {
          events.push([task.taskId, 'a', at, TaskState.TASK_RUNNING]);
        }
      : undefined,
  });
  const startedAt = performance.now();
  let allRegisteredS: number | undefined;
  const memoryPerAgentKib = (): number => {
    if (Date.now() - lastMemory < 10_000) return memoryKib;
    lastMemory = Date.now();
    const now = collect();
    const bytes = now.heapUsed + now.external - (baseline.heapUsed + baseline.external);
    memoryKib = Math.round(bytes / 1024 / Math.max(1, options.machines.length));
    return memoryKib;
  };
  const report = (): FleetStats => {
    const stats = fleet.stats();
    if (allRegisteredS === undefined && stats.connected === stats.agents)
      allRegisteredS = Number(((performance.now() - startedAt) / 1000).toFixed(3));
    const line = { kind: 'stats' as const, stats, memoryPerAgentKib: memoryPerAgentKib(), allRegisteredS };
    if (parent) {
      if (events.length > 0) parent({ kind: 'tasks', events } satisfies ShardMessage);
      events = [];
      parent(line satisfies ShardMessage);
    } else
      console.log(
        JSON.stringify({
          sim: 'agents',
          ...stats,
          memory_per_agent_kib: line.memoryPerAgentKib,
          all_registered_s: allRegisteredS,
        }),
      );
    return stats;
  };
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => {
      resolve();
    });
    process.once('SIGTERM', () => {
      resolve();
    });
    // `stop` is the only message a parent sends.
    process.on('message', () => {
      resolve();
    });
    process.once('disconnect', () => {
      resolve();
    });
  });
  // Task events go to the parent often (they time placements); the stats line less often.
  const flush = setInterval(() => {
    if (parent && events.length > 0) {
      parent({ kind: 'tasks', events } satisfies ShardMessage);
      events = [];
    }
  }, 200);
  const ticker = setInterval(report, options.reportEveryS * 1000);
  try {
    await fleet.start();
    await stopped;
    return report();
  } finally {
    clearInterval(ticker);
    clearInterval(flush);
    fleet.stop();
    process.removeAllListeners('message');
  }
}
