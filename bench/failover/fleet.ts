/**
 * The benchmark's framework: it fills every agent with the same number of long-running tasks, then
 * declines everything. It remembers each task's latest state as it was told, and every task it saw
 * end, which after a failover is what the framework lost.
 */
import { performance } from 'node:perf_hooks';
import { createLogger } from '../../core/logger.js';
import { isTerminal } from '../../core/task-state.js';
import { GrpcSchedulerDriver, type SchedulerDriver } from '../../frameworks/sdk/index.js';
import { Limits, TaskState, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';

/** How the fleet runs. */
export interface FleetOptions {
  /** The master: a coordinator URL here. */
  readonly master: string;
  readonly tasksPerAgent: number;
  /** A user's token: the masters authenticate. */
  readonly token?: string;
}

/** A framework keeping `tasksPerAgent` tasks running on every agent it is offered. */
export class Fleet {
  readonly driver: SchedulerDriver;
  /** Latest state of each task, by task id. */
  readonly states = new Map<string, TaskState>();
  /** Tasks the framework saw end, with the state they ended in. */
  readonly ended = new Map<string, TaskState>();
  /** `performance.now()` of every re-subscription. */
  readonly resubscribedAt: number[] = [];
  private readonly launched = new Map<string, number>();
  private next = 0;

  constructor(private readonly options: FleetOptions) {
    this.driver = new GrpcSchedulerDriver({
      master: options.master,
      framework: { name: 'bench-failover', failoverTimeoutS: 600 },
      token: options.token,
      logger: createLogger('framework:bench-failover', 'silent'),
      scheduler: {
        subscribed: (_d, info) => {
          if (info.resubscribed) this.resubscribedAt.push(performance.now());
        },
        offers: (d, offers) => this.offers(d, offers),
        update: (_d, status) => {
          this.states.set(status.taskId, status.state);
          if (isTerminal(status.state)) this.ended.set(status.taskId, status.state);
        },
      },
    });
  }

  /** How many tasks the framework last heard are running. */
  running(): number {
    let n = 0;
    for (const state of this.states.values()) if (state === TaskState.TASK_RUNNING) n++;
    return n;
  }

  private async offers(driver: SchedulerDriver, offers: Offer[]): Promise<void> {
    for (const offer of offers) {
      const have = this.launched.get(offer.agentId) ?? 0;
      const want = this.options.tasksPerAgent - have;
      if (want <= 0) {
        await driver.decline([offer.id], { refuseSeconds: 3600 });
        continue;
      }
      this.launched.set(offer.agentId, have + want);
      const tasks = Array.from({ length: want }, () => this.task(offer.agentId));
      for (const task of tasks) this.states.set(task.taskId, TaskState.TASK_STAGING);
      await driver.launch([offer.id], tasks, { refuseSeconds: 3600 });
    }
  }

  private task(agentId: string): TaskInfo {
    const taskId = `t${String(this.next++).padStart(4, '0')}`;
    return {
      taskId,
      name: taskId,
      agentId,
      resources: { cpus: 100, mem: 16 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
      command: { shell: '', argv: ['sleep', 'infinity'], env: {}, user: '' },
      labels: [],
      killGraceS: 1,
      limits: Limits.create(),
      volumes: [],
    };
  }
}
