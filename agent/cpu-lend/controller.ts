/**
 * The cpu lending controller: every interval it samples the machine's idle cpu and each
 * soft-limited container's usage (`cpuacct.usage`, throttled time), asks {@link planLoans} for the
 * loans and writes each changed one into the container's CFS quota (its request plus its loan).
 * It is an agent plugin on the container hooks: a container joins when it runs (`isolate`) or is
 * re-attached (`recover`, which also resets it to its request: a loan does not outlive the agent
 * that made it), leaves at `cleanup`, and its loan is part of its usage report. The timer runs
 * only while there is a soft-limited container.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../core/logger.js';
import type { Container } from '../../isolators/isolator.js';
import { cfsQuota, CFS_PERIOD_US } from '../../isolators/cpu/index.js';
import { AGENT_PLUGIN_API_VERSION, type AgentHost, type AgentPlugin } from '../hooks.js';
import type { IdleSource } from './idle.js';
import { planLoans, type CpuLendConfig, type LoanSample } from './plan.js';

/** A soft-limited container and what the last sample saw of it. */
interface Borrower {
  readonly container: Container;
  readonly requested: number;
  loan: number;
  /** Intervals in a row it left a step of its quota unused (the plan counts them). */
  spare: number;
  /** `cpuacct.usage` and throttled time (ns) at `at` (ms, monotonic); undefined before the first sample. */
  last?: { readonly usageNs: number; readonly throttledNs: number; readonly at: number };
}

/** True for a container the lending applies to: soft-limited, with cpus, in the cpu controller. */
function isSoft(c: Container): boolean {
  return c.limits.cpuExcess && c.resources.cpus > 0 && c.driver.exists('cpu', c.cgroup);
}

/** Lends idle cpu to soft-limited containers (see the module comment). */
export class CpuLendController implements AgentPlugin {
  readonly kind = 'agent';
  readonly name = 'cpu-lend';
  readonly version = AGENT_PLUGIN_API_VERSION;
  readonly galaxyApi = '^1';
  /** Times idle fell under the low threshold while something was lent. */
  reclaims = 0;
  private readonly borrowers = new Map<string, Borrower>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private log: Logger | undefined;

  constructor(
    readonly config: CpuLendConfig,
    private readonly idle: IdleSource,
  ) {}

  /** Cpu lent now, in millicores, over every container. */
  lentMillicores(): number {
    let sum = 0;
    for (const b of this.borrowers.values()) sum += b.loan;
    return sum;
  }

  apply({ hooks, log }: AgentHost): void {
    this.log = log;
    hooks.isolate.tap(this.name, (c) => {
      if (isSoft(c)) this.join(c);
    });
    hooks.recover.tapPromise(this.name, async (containers) => {
      for (const c of containers.filter(isSoft)) {
        await c.driver.set('cpu', c.cgroup, 'cpu.cfs_period_us', String(CFS_PERIOD_US));
        await c.driver.set('cpu', c.cgroup, 'cpu.cfs_quota_us', String(cfsQuota(c.resources.cpus)));
        this.join(c);
      }
    });
    hooks.cleanup.tap(this.name, (c) => {
      this.borrowers.delete(c.id);
      if (this.borrowers.size === 0) this.pause();
    });
    hooks.usage.tap(this.name, (c, usage) => {
      const borrower = this.borrowers.get(c.id);
      if (borrower) usage.cpuLentMillicores = borrower.loan;
    });
  }

  /** Stops sampling for good (the agent stops or detaches); waits for a sample under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pause();
    await this.ticking;
  }

  /** One interval's work; public so that tests can drive it without the timer. */
  async tick(): Promise<void> {
    const idle = await this.idle.sample().catch(() => undefined);
    const samples: LoanSample[] = [];
    for (const b of this.borrowers.values()) {
      const sample = await this.sample(b).catch(() => undefined);
      if (sample) samples.push(sample);
    }
    if (idle === undefined || this.stopped) return;
    const plan = planLoans(idle, samples, this.config);
    let taken = 0;
    for (const [id, spare] of plan.spare) {
      const b = this.borrowers.get(id);
      if (b) b.spare = spare;
    }
    for (const [id, loan] of plan.loans) {
      const b = this.borrowers.get(id);
      if (!b || b.loan === loan) continue;
      if (loan < b.loan) taken += b.loan - loan;
      await this.setLoan(b, loan).catch((error: unknown) => {
        this.log?.warn({ container: id, err: String(error) }, 'could not change the cpu quota of a container');
      });
    }
    if (plan.reclaimed) {
      this.reclaims += 1;
      this.log?.warn(
        { idleMillicores: idle, lowIdle: this.config.lowIdle, reclaimedMillicores: taken },
        'cpu lending reclaimed: idle cpu fell under the low threshold, every soft-limited container is back at its quota',
      );
    }
  }

  private join(c: Container): void {
    this.borrowers.set(c.id, { container: c, requested: c.resources.cpus, loan: 0, spare: 0 });
    if (!this.timer && !this.stopped) this.schedule();
  }

  private schedule(): void {
    const timer = setTimeout(() => {
      // A timer paused and replaced meanwhile (the last container left, a new one came) lets
      // the new one carry on, so that one loop runs at a time.
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((error: unknown) => {
          this.log?.warn({ err: String(error) }, 'a cpu lending sample failed');
        })
        .finally(() => {
          this.ticking = undefined;
          if (this.timer === timer && !this.stopped && this.borrowers.size > 0) this.schedule();
        });
    }, this.config.intervalMs);
    timer.unref();
    this.timer = timer;
  }

  private pause(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** What the container used since the last sample; undefined on its first. */
  private async sample(b: Borrower): Promise<LoanSample | undefined> {
    const { driver, cgroup } = b.container;
    const usageNs = Number(await driver.get('cpuacct', cgroup, 'cpuacct.usage'));
    const stat = await driver.get('cpu', cgroup, 'cpu.stat');
    const throttledNs = Number(/throttled_time (\d+)/.exec(stat)?.[1] ?? 0);
    const at = performance.now();
    const last = b.last;
    b.last = { usageNs, throttledNs, at };
    const elapsedNs = last ? (at - last.at) * 1e6 : 0;
    if (!last || elapsedNs <= 0) return undefined;
    return {
      id: b.container.id,
      requested: b.requested,
      loan: b.loan,
      used: Math.round(((usageNs - last.usageNs) / elapsedNs) * 1000),
      throttled: Math.min(1, (throttledNs - last.throttledNs) / elapsedNs),
      spare: b.spare,
    };
  }

  private async setLoan(b: Borrower, loan: number): Promise<void> {
    const { driver, cgroup } = b.container;
    await driver.set('cpu', cgroup, 'cpu.cfs_quota_us', String(cfsQuota(b.requested + loan)));
    b.loan = loan;
  }
}
