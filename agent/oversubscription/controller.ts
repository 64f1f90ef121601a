/**
 * The agent's oversubscription (Mesos' resource estimator + QoS controller): every interval it
 * samples its tasks' usage (the isolators', as `galaxy tasks --usage` shows it) and the machine's
 * load, reports a changed estimate of its revocable resources to the master, and evicts tasks on
 * revocable resources when the regular tasks need them back. The decisions are ./estimator.ts
 * and ./qos.ts; this class only carries them out.
 */
import type { Logger } from '../../core/logger.js';
import { RESOURCES_REVOKED_REASON } from '../../core/revocable.js';
import { isTerminal } from '../../core/task-state.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import type { ContainerUsage } from '../../isolators/isolator.js';
import type { TaskRunner } from '../task-runner.js';
import { DEFAULT_ESTIMATOR_TUNING, type Estimate, type EstimatorTuning, type TaskLoad } from './estimator.js';
import type { MachineLoad, QosTuning } from './qos.js';
import { OversubscriptionStep } from './step.js';

/** How the agent oversubscribes (`galaxy agent --oversubscribe`). */
export interface OversubscriptionOptions {
  /** Milliseconds between samples. Default 5000. */
  readonly intervalMs?: number;
  readonly estimator?: Partial<EstimatorTuning>;
  readonly qos?: Partial<Omit<QosTuning, 'margin'>>;
}

/** What the controller needs of its agent. */
export interface OversubscriptionDeps {
  readonly runners: () => Iterable<TaskRunner>;
  readonly usage: (containerId: string) => Promise<ContainerUsage>;
  readonly machine: () => Promise<MachineLoad>;
  /** Sends a changed estimate to the master. */
  readonly report: (estimate: Estimate) => void;
  readonly log: Logger;
  readonly now?: () => number;
}

interface Previous {
  readonly at: number;
  readonly cpuSeconds: number;
  readonly throttledS: number;
  readonly firstSeen: number;
}

/** Samples, estimates, reports and evicts. */
export class OversubscriptionController {
  private readonly step: OversubscriptionStep;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private readonly previous = new Map<string, Previous>();
  private sampling = false;

  constructor(
    private readonly deps: OversubscriptionDeps,
    options: OversubscriptionOptions = {},
  ) {
    this.step = new OversubscriptionStep({ ...DEFAULT_ESTIMATOR_TUNING, ...options.estimator }, options.qos);
    this.intervalMs = options.intervalMs ?? 5000;
    this.now = deps.now ?? Date.now;
  }

  /** Starts sampling. */
  start(): void {
    this.timer = setInterval(() => {
      void this.sample();
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** The agent (re-)registered: the master knows no estimate of it yet, so the next one is sent. */
  registered(): void {
    this.step.forgetReported();
  }

  /** One sample: estimate, report when changed, evict. Overlapping samples are skipped. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      const [loads, machine] = await Promise.all([this.loads(), this.deps.machine()]);
      const { report, evictions } = this.step.next(loads, machine);
      if (report) this.deps.report(report);
      const runners = new Map([...this.deps.runners()].map((r) => [`${r.framework.id}/${r.info.taskId}`, r]));
      for (const eviction of evictions) {
        const runner = runners.get(eviction.key);
        if (!runner || isTerminal(runner.state) || runner.state === TaskState.TASK_KILLING) continue;
        this.deps.log.warn(
          { task: runner.info.taskId, framework: runner.framework.id },
          `evicting a revocable task: ${eviction.message}`,
        );
        void runner.kill({ reason: RESOURCES_REVOKED_REASON, message: eviction.message });
      }
    } catch (error) {
      this.deps.log.warn({ err: String(error) }, 'oversubscription sample failed');
    } finally {
      this.sampling = false;
    }
  }

  /** Each live task's allocation and usage since the previous sample. */
  private async loads(): Promise<TaskLoad[]> {
    const now = this.now();
    const loads: TaskLoad[] = [];
    const seen = new Set<string>();
    for (const runner of this.deps.runners()) {
      if (isTerminal(runner.state) || runner.state === TaskState.TASK_STAGING) continue;
      const key = `${runner.framework.id}/${runner.info.taskId}`;
      seen.add(key);
      const usage: ContainerUsage = await this.deps.usage(runner.containerId).catch(() => ({}));
      const cpuSeconds = usage.cpuSeconds ?? 0;
      const throttledS = usage.cpuThrottledSeconds ?? 0;
      const before = this.previous.get(key);
      this.previous.set(key, { at: now, cpuSeconds, throttledS, firstSeen: before?.firstSeen ?? now });
      const allocCpus = runner.info.resources?.cpus ?? 0;
      const elapsedS = before ? (now - before.at) / 1000 : 0;
      // Without an earlier sample the task's rate is unknown: count it as using all it holds.
      const usedCpus =
        before && elapsedS > 0 ? (Math.max(0, cpuSeconds - before.cpuSeconds) / elapsedS) * 1000 : allocCpus;
      loads.push({
        key,
        allocCpus,
        allocMem: runner.info.resources?.mem ?? 0,
        usedCpus,
        usedMem: usage.memBytes ?? 0,
        throttledS: before ? Math.max(0, throttledS - before.throttledS) : 0,
        onRevocable: runner.info.onRevocable === true,
        startedAt: before?.firstSeen ?? now,
      });
    }
    for (const key of [...this.previous.keys()]) if (!seen.has(key)) this.previous.delete(key);
    return loads;
  }
}
