/**
 * The master's accounting (docs/tenancy.md, "Accounting"): feeds the {@link Ledger} from the
 * master's hooks — a task holds its resources from launch (or adoption after a failover) until
 * it ends, its framework is removed or its agent is gone — samples the isolators' usage through
 * the {@link UsageCollector}, and writes changed rows to the store in batches.
 *
 * A task's user is its role's acting user (docs/security.md, "Roles"): the role's owner for a
 * framework acting for users, else the framework's owner; `unknown` when the master does not
 * know the owner. Labels a framework sets (`galaxy.user`) are not trusted for it. A task's pool
 * is its agent's pool at launch. The cluster's
 * allocated total is integrated from the agents' allocated resources (what their live tasks
 * hold), measured at the same ticks but not summed from the per-user rows.
 *
 * Tasks on revocable resources (`onRevocable`, docs/resources.md) hold lent capacity: the ledger
 * counts their resource-seconds in a row's `revocable` part, not in `allocated` (nor in the
 * cluster's allocated total), so that lent capacity is not charged at regular rates.
 */
import { isTerminal } from '../../core/task-state.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';
import type { MasterContext } from '../context.js';
import { Ledger, type LedgerRow, type ResourceRate, type ResourceSecondsTotals, type StoredRow } from './ledger.js';
import { taskKey } from '../records.js';
import type { UsageCollector } from './usage.js';
import { BuiltinMasterPlugin, type MasterHost } from '../plugin.js';

/** A pool's rate below this is rounding left by adding and subtracting agents' rates: nothing. */
const EPSILON = 1e-9;

/** How accounting runs. */
export interface AccountingOptions {
  /** How often live tasks' usage is sampled from the agents. Default 15 s; 0 = never. */
  readonly sampleMs?: number;
  /** How often the ledger is integrated up to now and changed rows are written. Default 15 s. */
  readonly flushMs?: number;
  /** How long buckets are kept. Default 7 days. */
  readonly retentionMs?: number;
  /** The clock (tests). Default `Date.now`. */
  readonly now?: () => number;
}

/** Writes a ledger row to the store. */
export type LedgerSink = (key: string, value: StoredRow) => void;

/** An answer to GetAccounting. */
export interface AccountingReport {
  readonly rows: LedgerRow[];
  readonly cluster: ResourceSecondsTotals;
  readonly fromMs: number;
  readonly toMs: number;
}

/**
 * The master's ledger of resource-seconds: a master plugin, following tasks as they launch and
 * end, sampling usage and flushing the ledger while the master serves.
 */
export class Accounting extends BuiltinMasterPlugin {
  readonly name = 'accounting';
  readonly ledger: Ledger;
  private readonly now: () => number;
  private sink: LedgerSink = () => undefined;
  private sampleTimer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private sampling = false;
  /** Per agent: its pool and what its live tasks hold (agents holding nothing are absent). */
  private readonly agentRates = new Map<string, { pool: string; rate: ResourceRate }>();
  /** The sum of {@link agentRates} per pool. */
  private readonly poolRates = new Map<string, ResourceRate>();

  constructor(
    private readonly ctx: MasterContext,
    private readonly usage: UsageCollector,
    private readonly options: AccountingOptions = {},
    /** The acting user of a task (see the module comment); undefined when not known. */
    private readonly actingUser: (task: Task) => string | undefined = () => undefined,
  ) {
    super();
    this.now = options.now ?? Date.now;
    this.ledger = new Ledger((agents) => this.clusterRate(agents), this.now(), options.retentionMs);
  }

  /** Taps the master's hooks: tasks start and stop being charged; the timers run while it serves. */
  apply({ hooks, ctx }: MasterHost): void {
    hooks.started.tap(this.name, () => {
      this.startTimers();
    });
    hooks.stopping.tap(this.name, () => {
      this.stop();
    });
    hooks.taskLaunched.tap('accounting', (task) => {
      this.start(task);
    });
    hooks.statusUpdate.tap('accounting', (status) => {
      if (isTerminal(status.state))
        this.ledger.stop(taskKey(status.frameworkId, status.taskId), this.now(), status.agentId);
    });
    hooks.frameworkRemoved.tap('accounting', (framework) => {
      this.ledger.stopWhere((t) => t.frameworkId === framework.info.id, this.now());
    });
    hooks.agentRemoved.tap('accounting', (agent) => {
      this.ledger.stopWhere((t) => t.agentId === agent.info.id, this.now(), [agent.info.id]);
    });
    hooks.agentAdded.tap('accounting', (agent) => {
      // Tasks the agent brought back (after a failover) hold resources from now on; the agent is
      // measured once below, not once per task.
      const now = this.now();
      for (const key of agent.tasks) {
        const task = ctx.tasks.get(key)?.task;
        if (task && !isTerminal(task.state) && !this.ledger.has(key)) this.start(task, now, false);
      }
      this.ledger.advance(now);
      this.ledger.remeasure([agent.info.id]);
    });
  }

  /** Starts the sampling and flushing timers. */
  startTimers(): void {
    const sampleMs = this.options.sampleMs ?? 15_000;
    if (sampleMs > 0) {
      this.sampleTimer = setInterval(() => {
        void this.sample();
      }, sampleMs);
      this.sampleTimer.unref();
    }
    this.flushTimer = setInterval(() => {
      this.flush();
    }, this.options.flushMs ?? 15_000);
    this.flushTimer.unref();
  }

  /** Stops the timers after a last flush. */
  stop(): void {
    clearInterval(this.sampleTimer);
    clearInterval(this.flushTimer);
    this.flush();
  }

  /** Rows go to `sink` from now on (the coordinator). */
  attachSink(sink: LedgerSink): void {
    this.sink = sink;
  }

  /** Integrates up to now, prunes old buckets and writes the rows that changed. */
  flush(): void {
    const now = this.now();
    this.ledger.advance(now);
    // Measured whole again now and then: the per-agent updates in between add and subtract
    // floating-point rates, and this bounds their drift.
    this.ledger.remeasure();
    this.ledger.prune(now);
    for (const { key, value } of this.ledger.takeDirty()) this.sink(key, value);
  }

  /** Asks the agents for live tasks' usage and adds it. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const tasks = await this.usage.collect('');
      this.ledger.recordUsage(
        tasks.map((t) => ({
          key: taskKey(t.frameworkId, t.taskId),
          cpuSeconds: t.usage?.cpuSeconds ?? 0,
          memBytes: t.usage?.memBytes ?? 0,
          diskBytes: t.usage?.diskBytes ?? 0,
        })),
        this.now(),
      );
    } finally {
      this.sampling = false;
    }
  }

  /** Totals of the last `sinceS` seconds (0 = all retained), per user and pool, and the cluster's. */
  report(user: string, pool: string, sinceS: number): AccountingReport {
    const now = this.now();
    const sinceMs = sinceS > 0 ? now - sinceS * 1000 : 0;
    const { rows, cluster, fromMs } = this.ledger.query({ user, pool, sinceMs }, now);
    return { rows, cluster, fromMs, toMs: now };
  }

  /** The user a task is accounted to. */
  userOf(task: Task): string {
    return this.actingUser(task) ?? 'unknown';
  }

  private start(task: Task, now = this.now(), measure = true): void {
    const key = taskKey(task.frameworkId, task.taskId);
    const res = task.resources;
    this.ledger.start(
      key,
      {
        user: this.userOf(task),
        pool: this.ctx.agents.get(task.agentId)?.info.pool ?? 'default',
        frameworkId: task.frameworkId,
        agentId: task.agentId,
        rate: { cpus: res?.cpus ?? 0, mem: res?.mem ?? 0, disk: res?.disk ?? 0 },
        revocable: task.onRevocable === true,
      },
      now,
      measure,
    );
  }

  /**
   * What the agents' live tasks hold now, per pool: the cluster side of the ledger. Kept per
   * agent, so that a change measures only the agents it touched (`agents`); without them, every
   * agent is measured again.
   */
  private clusterRate(agents?: readonly string[]): Map<string, ResourceRate> {
    if (agents === undefined) {
      this.agentRates.clear();
      this.poolRates.clear();
      for (const id of this.ctx.agents.keys()) this.measureAgent(id);
    } else for (const id of agents) this.measureAgent(id);
    const rates = new Map<string, ResourceRate>();
    for (const [pool, rate] of this.poolRates)
      if (rate.cpus > EPSILON || rate.mem > EPSILON || rate.disk > EPSILON) rates.set(pool, { ...rate });
    return rates;
  }

  /** Measures what agent `id`'s live tasks hold and moves its pool's total by the difference. */
  private measureAgent(id: string): void {
    const old = this.agentRates.get(id);
    if (old) this.addToPool(old.pool, old.rate, -1);
    this.agentRates.delete(id);
    const agent = this.ctx.agents.get(id);
    if (!agent) return;
    const rate = { cpus: 0, mem: 0, disk: 0 };
    for (const key of agent.tasks) {
      const task = this.ctx.tasks.get(key)?.task;
      // Lent capacity is not allocated: the rows count it apart too (their `revocable` part).
      if (!task?.resources || isTerminal(task.state) || task.onRevocable === true) continue;
      rate.cpus += task.resources.cpus;
      rate.mem += task.resources.mem;
      rate.disk += task.resources.disk;
    }
    if (rate.cpus + rate.mem + rate.disk === 0) return;
    this.agentRates.set(id, { pool: agent.info.pool, rate });
    this.addToPool(agent.info.pool, rate, 1);
  }

  private addToPool(pool: string, rate: ResourceRate, sign: 1 | -1): void {
    const total = this.poolRates.get(pool) ?? { cpus: 0, mem: 0, disk: 0 };
    this.poolRates.set(pool, {
      cpus: total.cpus + sign * rate.cpus,
      mem: total.mem + sign * rate.mem,
      disk: total.disk + sign * rate.disk,
    });
  }
}
