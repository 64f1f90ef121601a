/**
 * The master's own figures, for `GetMasterStats` (issue 16: `bench:scale` reads its allocation
 * timings and counts; an operator can too): how long the newest allocation passes took, and how
 * many agents, frameworks and tasks it holds.
 */
import { adminOnly } from '../core/auth/caller.js';
import { TaskState } from '../proto/gen/galaxy/v1/common.js';
import type { OperatorServer } from '../proto/gen/galaxy/v1/operator.js';
import type { MasterContext } from './context.js';
import { isTerminal } from '../core/task-state.js';

/** Allocation passes whose durations the percentiles cover. */
export const TIMED_PASSES = 1000;

/** The durations of the newest passes, in a ring. */
export class PassTimings {
  private readonly ring: number[] = [];
  private next = 0;
  /** Passes ever timed. */
  runs = 0;

  constructor(private readonly size = TIMED_PASSES) {}

  /** Records one pass of `ms` milliseconds. */
  add(ms: number): void {
    if (this.ring.length < this.size) this.ring.push(ms);
    else this.ring[this.next] = ms;
    this.next = (this.next + 1) % this.size;
    this.runs += 1;
  }

  /** The newest passes' durations, oldest first. */
  recent(): number[] {
    return this.ring.length < this.size
      ? [...this.ring]
      : [...this.ring.slice(this.next), ...this.ring.slice(0, this.next)];
  }

  /** The `p`-th percentile (0–100, nearest rank) of the newest passes; 0 before any. */
  percentile(p: number): number {
    if (this.ring.length === 0) return 0;
    const sorted = [...this.ring].sort((a, b) => a - b);
    const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
    return sorted[rank] ?? 0;
  }
}

/** The Operator RPC `GetMasterStats` (admin only: it describes the whole cluster). */
export function statsOperatorApi(ctx: MasterContext, passes: PassTimings): Pick<OperatorServer, 'getMasterStats'> {
  return {
    getMasterStats: adminOnly('read the master statistics', () => {
      let connected = 0;
      for (const agent of ctx.agents.values()) if (agent.connection !== undefined) connected += 1;
      let tasks = 0;
      let running = 0;
      for (const { task } of ctx.tasks.values()) {
        if (isTerminal(task.state)) continue;
        tasks += 1;
        if (task.state === TaskState.TASK_RUNNING) running += 1;
      }
      return {
        agents: ctx.agents.size,
        agentsConnected: connected,
        frameworks: ctx.frameworks.size,
        tasks,
        tasksRunning: running,
        allocationRuns: passes.runs,
        allocationP50Ms: passes.percentile(50),
        allocationP99Ms: passes.percentile(99),
        allocationMaxMs: passes.percentile(100),
        statusAcksSent: ctx.acks.messages,
        statusAcks: ctx.acks.acks,
        allocationRecentMs: passes.recent(),
        frameworkUpdateEvents: ctx.frameworkEvents.events,
        frameworkUpdates: ctx.frameworkEvents.updates,
        frameworkResendsHeld: ctx.forwardedUpdates.held,
      };
    }),
  };
}
