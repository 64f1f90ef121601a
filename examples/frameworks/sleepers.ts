/**
 * An example framework written with the SDK: it runs N short tasks, packing as many into each
 * offer as fit, declines the rest with a filter, suppresses offers once everything is launched,
 * and reports how the tasks ended once every one of them has.
 *
 *   node dist/examples/frameworks/sleepers.js --master 127.0.0.1:5050 --count 5 \
 *     [--resources 'cpus:0.1;mem:32MiB'] [--command 'echo hi; sleep 1'] [--role '*'] \
 *     [--token glx_…] [--tls-ca ca.crt [--tls-cert me.crt --tls-key me.key]]
 *
 * The token is `--token`, else `$GALAXY_TOKEN`, else the file `$GALAXY_TOKEN_FILE` names. A master
 * that refuses it (UNAUTHENTICATED, PERMISSION_DENIED) is not retried: the example exits 2 with
 * the master's reason.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GalaxyError, isGalaxyError, parseGalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import {
  addResources,
  containsResources,
  emptyResources,
  parseResources,
  type Resources,
} from '../../core/resources.js';
import { isTerminal } from '../../core/task-state.js';
import { TaskState, type Offer, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import {
  GrpcSchedulerDriver,
  type Scheduler,
  type SchedulerDriver,
  type SchedulerError,
} from '../../frameworks/sdk/index.js';
import { resolveToken } from '../../core/auth/client.js';
import type { TlsFiles } from '../../core/tls.js';

/** How the tasks ended. */
export interface SleepersSummary {
  /** Exited 0. */
  readonly finished: number;
  /** Exited non-zero, or could not be started. */
  readonly failed: number;
  readonly killed: number;
  /** Lost with their agent, dropped, or gone. */
  readonly lost: number;
}

/** Options of {@link runSleepers}. */
export interface SleepersOptions {
  /** The master, `host:port`. */
  readonly master: string;
  /** How many tasks to run. */
  readonly count: number;
  /** Shell command of each task. */
  readonly command?: string;
  /** Millicores per task (default 100). */
  readonly cpus?: number;
  /** Bytes per task (default 32 MiB). */
  readonly mem?: number;
  /** Role to subscribe with (default `*`). */
  readonly role?: string;
  readonly logger?: Logger;
  /** The bearer token to subscribe with; none for an open master. */
  readonly token?: string;
  /** TLS towards the master; none: plaintext. */
  readonly tls?: TlsFiles;
}

/** A running sleepers framework. */
export interface Sleepers {
  /** Its driver: `stop()` to leave the tasks running, `teardown()` to end them. */
  readonly driver: SchedulerDriver;
  /** Resolves once every task is terminal; rejects if the master refuses the framework. */
  readonly done: Promise<SleepersSummary>;
}

/** Refuse an agent this long when it has nothing we can use: the tasks are short, so not long. */
const DECLINE_FILTER = { refuseSeconds: 5 };

/** The scheduler: which tasks wait, which ended, and how. */
class SleepersScheduler implements Scheduler {
  private readonly pending: string[];
  private readonly ended = new Map<string, TaskState>();
  private suppressed = false;

  constructor(
    private readonly count: number,
    private readonly perTask: Resources,
    private readonly command: string,
    private readonly finish: (summary: SleepersSummary) => void,
    private readonly fail: (error: GalaxyError) => void,
    private readonly log?: Logger,
  ) {
    this.pending = Array.from({ length: count }, (_, i) => `sleeper-${i}`);
  }

  async offers(driver: SchedulerDriver, offers: Offer[]): Promise<void> {
    for (const offer of offers) {
      const tasks = this.pack(offer);
      if (tasks.length === 0) {
        await driver.decline([offer.id], DECLINE_FILTER).catch(this.warnOf('decline'));
        continue;
      }
      try {
        // What is left of the offer is refused briefly: the next task may fit in a later offer.
        await driver.launch(offer.id, tasks, { refuseSeconds: 1 });
      } catch (error) {
        // The offer was rescinded or refused: the tasks wait for another one.
        this.warnOf('launch')(error);
        this.pending.unshift(...tasks.map((t) => t.taskId));
        if (this.suppressed) await this.revive(driver);
      }
    }
    if (this.pending.length === 0 && !this.suppressed) {
      this.suppressed = true;
      await driver.suppress().catch(this.warnOf('suppress'));
    }
  }

  update(_driver: SchedulerDriver, status: TaskStatus): void {
    if (!isTerminal(status.state) || !status.taskId.startsWith('sleeper-') || this.ended.has(status.taskId)) return;
    this.ended.set(status.taskId, status.state);
    this.log?.info({ task: status.taskId, state: TaskState[status.state], message: status.message }, 'task ended');
    if (this.ended.size === this.count) this.finish(this.summary());
  }

  error(_driver: SchedulerDriver, error: SchedulerError): void {
    if (!error.fatal) {
      this.log?.warn({ code: error.code }, error.message);
      return;
    }
    this.fail(
      parseGalaxyError(`${error.code}: ${error.message}`) ?? new GalaxyError('GALAXY_E_INTERNAL', error.message),
    );
  }

  /** As many pending tasks as the offer holds. */
  private pack(offer: Offer): TaskInfo[] {
    const tasks: TaskInfo[] = [];
    let used = emptyResources();
    while (
      this.pending.length > 0 &&
      offer.resources &&
      containsResources(offer.resources, addResources(used, this.perTask))
    ) {
      used = addResources(used, this.perTask);
      const taskId = this.pending.shift() ?? '';
      tasks.push({
        taskId,
        name: taskId,
        agentId: offer.agentId,
        resources: this.perTask,
        command: { shell: this.command, argv: [], env: {}, user: '' },
        labels: [],
        killGraceS: 2,
        volumes: [],
      });
    }
    return tasks;
  }

  private async revive(driver: SchedulerDriver): Promise<void> {
    this.suppressed = false;
    await driver.revive().catch(this.warnOf('revive'));
  }

  private summary(): SleepersSummary {
    const count = (...states: TaskState[]): number => [...this.ended.values()].filter((s) => states.includes(s)).length;
    return {
      finished: count(TaskState.TASK_FINISHED),
      failed: count(TaskState.TASK_FAILED, TaskState.TASK_ERROR),
      killed: count(TaskState.TASK_KILLED),
      lost: count(TaskState.TASK_LOST, TaskState.TASK_DROPPED, TaskState.TASK_GONE),
    };
  }

  /** A catch handler that logs a failed call: the framework carries on with the next offer. */
  private warnOf(call: string): (error: unknown) => void {
    return (error) => {
      this.log?.warn({ err: error instanceof Error ? error.message : String(error) }, `${call} failed`);
    };
  }
}

/** Starts the framework; `done` resolves once every task is terminal. */
export function runSleepers(options: SleepersOptions): Sleepers {
  if (!Number.isSafeInteger(options.count) || options.count < 1) {
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `sleepers: count must be a positive whole number, got ${options.count}`,
    );
  }
  const perTask: Resources = { ...emptyResources(), cpus: options.cpus ?? 100, mem: options.mem ?? 32 * 1024 * 1024 };
  const command = options.command ?? 'echo "hello from $GALAXY_TASK_ID on $(hostname)"; sleep 1';
  let settle: { finish: (s: SleepersSummary) => void; fail: (e: GalaxyError) => void } | undefined;
  const done = new Promise<SleepersSummary>((resolve, reject) => {
    settle = { finish: resolve, fail: reject };
  });
  const scheduler = new SleepersScheduler(
    options.count,
    perTask,
    command,
    (summary) => settle?.finish(summary),
    (error) => settle?.fail(error),
    options.logger,
  );
  const driver = new GrpcSchedulerDriver({
    master: options.master,
    framework: { name: 'sleepers', role: options.role ?? '*', failoverTimeoutS: 60 },
    logger: options.logger,
    scheduler,
    ...(options.token === undefined ? {} : { token: options.token }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  });
  driver.start().catch((error: unknown) => {
    // stop() before SUBSCRIBED is the caller's choice, not a failure of the tasks.
    if (isGalaxyError(error, 'GALAXY_E_UNAVAILABLE')) return;
    settle?.fail(isGalaxyError(error) ? error : new GalaxyError('GALAXY_E_INTERNAL', String(error)));
  });
  return { driver, done };
}

/** `node sleepers.js --master … --count …`: prints the summary as JSON, exits 1 if a task did not finish. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      master: { type: 'string', default: '127.0.0.1:5050' },
      count: { type: 'string', default: '5' },
      command: { type: 'string' },
      resources: { type: 'string', default: 'cpus:0.1;mem:32MiB' },
      role: { type: 'string' },
      token: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca': { type: 'string' },
    },
  });
  // Number('') is 0 and Number('2x') is NaN: read digits only, so the error can quote the flag.
  const count = /^\d+$/.test(values.count) ? Number(values.count) : Number.NaN;
  if (Number.isNaN(count))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--count: expected a number, got "${values.count}"`);
  const resources = parseResources(values.resources, '--resources');
  const { driver, done } = runSleepers({
    master: values.master,
    count,
    command: values.command,
    cpus: resources.cpus,
    mem: resources.mem,
    role: values.role,
    token: resolveToken({ flag: values.token }),
    tls: { cert: values['tls-cert'], key: values['tls-key'], ca: values['tls-ca'] },
  });
  // Ctrl-C ends the tasks too: an example should not leave work behind on the cluster.
  process.once('SIGINT', () => {
    void driver.teardown().finally(() => process.exit(130));
  });
  const summary = await done;
  console.log(JSON.stringify(summary));
  await driver.teardown();
  process.exitCode = summary.finished === count ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  });
}
