/**
 * An example framework written with the SDK: it runs N short tasks, packing as many into each
 * offer as fit, declines the rest with a filter, suppresses offers once everything is launched,
 * and tears itself down when every task has ended.
 *
 *   node dist/examples/frameworks/sleepers.js --master 127.0.0.1:5050 --count 5
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import type { Offer, TaskInfo, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { containsResources, addResources, emptyResources, type Resources } from '../../core/resources.js';
import { isTerminal } from '../../core/task-state.js';
import type { Logger } from '../../core/logger.js';
import { SchedulerDriver } from '../../frameworks/sdk/index.js';

/** How the tasks ended. */
export interface SleepersSummary {
  readonly finished: number;
  readonly failed: number;
  readonly killed: number;
  readonly lost: number;
}

/** Options of {@link runSleepers}. */
export interface SleepersOptions {
  readonly master: string;
  readonly count: number;
  readonly command?: string;
  /** Millicores per task (default 100). */
  readonly cpus?: number;
  /** Bytes per task (default 32 MiB). */
  readonly mem?: number;
  readonly role?: string;
  readonly logger?: Logger;
}

/** Starts the framework; `done` resolves once every task is terminal. */
export function runSleepers(options: SleepersOptions): { driver: SchedulerDriver; done: Promise<SleepersSummary> } {
  const perTask: Resources = { ...emptyResources(), cpus: options.cpus ?? 100, mem: options.mem ?? 32 * 1024 * 1024 };
  const command = options.command ?? 'echo "hello from $GALAXY_TASK_ID on $(hostname)"; sleep 1';
  const pending = Array.from({ length: options.count }, (_, i) => `sleeper-${i}`);
  const ended = new Map<string, TaskState>();
  let resolveDone: (summary: SleepersSummary) => void = () => undefined;
  const done = new Promise<SleepersSummary>((resolve) => {
    resolveDone = resolve;
  });
  const summary = (): SleepersSummary => {
    const count = (...states: TaskState[]) => [...ended.values()].filter((s) => states.includes(s)).length;
    return {
      finished: count(TaskState.TASK_FINISHED),
      failed: count(TaskState.TASK_FAILED, TaskState.TASK_ERROR),
      killed: count(TaskState.TASK_KILLED),
      lost: count(TaskState.TASK_LOST, TaskState.TASK_DROPPED, TaskState.TASK_GONE),
    };
  };

  const driver = new SchedulerDriver({
    master: options.master,
    framework: { name: 'sleepers', role: options.role ?? '*', failoverTimeoutS: 60 },
    logger: options.logger,
    scheduler: {
      offers: async (d, offers: Offer[]) => {
        for (const offer of offers) {
          const tasks: TaskInfo[] = [];
          let used = emptyResources();
          while (
            pending.length > 0 &&
            offer.resources &&
            containsResources(offer.resources, addResources(used, perTask))
          ) {
            used = addResources(used, perTask);
            const taskId = pending.shift() ?? '';
            tasks.push({
              taskId,
              name: taskId,
              agentId: offer.agentId,
              resources: perTask,
              command: { shell: command, argv: [], env: {}, user: '' },
              labels: [],
              killGraceS: 2,
              volumes: [],
            });
          }
          if (tasks.length > 0) await d.launch([offer.id], tasks, { refuseSeconds: 1 });
          else await d.decline([offer.id], { refuseSeconds: 5 });
        }
        if (pending.length === 0) await d.suppress();
      },
      update: (_d, status: TaskStatus) => {
        if (!isTerminal(status.state) || status.reason === 'reconciliation') return;
        ended.set(status.taskId, status.state);
        if (ended.size === options.count) resolveDone(summary());
      },
    },
  });
  void driver.start().catch((error: unknown) => {
    options.logger?.error({ err: String(error) }, 'sleepers could not subscribe');
  });
  return { driver, done };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { master: { type: 'string', default: '127.0.0.1:5050' }, count: { type: 'string', default: '5' } },
  });
  const count = Number(values.count);
  if (!Number.isSafeInteger(count) || count < 1) {
    console.error(`error: --count must be a positive whole number, got "${values.count}"`);
    process.exit(2);
  }
  const { driver, done } = runSleepers({ master: values.master, count });
  const result = await done;
  console.log(JSON.stringify(result));
  await driver.teardown();
}
