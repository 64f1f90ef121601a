/**
 * A simulated agent's oversubscription (`galaxy sim replay --oversubscribe`): the real agent's
 * estimator and QoS decisions (agent/oversubscription/estimator.ts, qos.ts) fed with the usage
 * model's figures (./usage-model.ts) instead of the isolators'. Each sample it reports a changed
 * revocable estimate to the master and evicts the tasks on revocable resources the QoS decides
 * on. Only the allocation signal acts: a simulated machine has no idle cpu or available memory of
 * its own to read, so the machine-wide signals are held quiet.
 */
import { Band } from '../proto/gen/galaxy/v1/common.js';
import { effectiveBand } from '../core/bands.js';
import { DEFAULT_ESTIMATOR_TUNING, type Estimate, type TaskLoad } from '../agent/oversubscription/estimator.js';
import { OversubscriptionStep } from '../agent/oversubscription/step.js';
import { DEFAULT_USAGE_MODEL, machinePhase, usedFraction, type UsageModelTuning } from './usage-model.js';

/** A live task as a sample sees it. */
export interface ReclaimTask {
  /** `frameworkId/taskId`. */
  readonly key: string;
  readonly cpus: number;
  readonly mem: number;
  readonly band: Band | undefined;
  readonly onRevocable: boolean;
  /** Wall ms it started running (eviction order: newest first). */
  readonly startedAt: number;
}

/** How the simulated agents oversubscribe. */
export interface SimReclaimOptions {
  readonly model?: Partial<UsageModelTuning>;
  /**
   * The estimator's window: the real agent's 6 samples of 5 s is 30 s of wall time, which a
   * replay at 20× would stretch to 10 trace minutes. Default 3 (one sample per wall second).
   */
  readonly window?: number;
}

/** What {@link SimReclaim} needs of its agent. */
export interface SimReclaimDeps {
  readonly hostname: string;
  /** Sends a changed estimate to the master. */
  readonly report: (estimate: Estimate) => void;
  /** Ends a task on revocable resources, `resources-revoked`. */
  readonly evict: (key: string, message: string) => void;
}

/** A simulated machine never reads as contended nor short of memory: only the allocation signal evicts. */
const QUIET_MACHINE = { idle: 1, memAvailable: Number.MAX_SAFE_INTEGER };

/** One agent's estimator and QoS over the usage model. */
export class SimReclaim {
  private readonly model: UsageModelTuning;
  private readonly step: OversubscriptionStep;
  private readonly phase: number;

  constructor(
    private readonly deps: SimReclaimDeps,
    options: SimReclaimOptions = {},
  ) {
    this.model = { ...DEFAULT_USAGE_MODEL, ...options.model };
    this.step = new OversubscriptionStep({ ...DEFAULT_ESTIMATOR_TUNING, window: options.window ?? 3 });
    this.phase = machinePhase(deps.hostname);
  }

  /** The agent (re-)registered: its next estimate is sent whatever it is. */
  registered(): void {
    this.step.forgetReported();
  }

  /** Each task's allocation and modelled usage at trace second `traceS`. */
  loads(tasks: Iterable<ReclaimTask>, traceS: number): TaskLoad[] {
    const loads: TaskLoad[] = [];
    for (const t of tasks) {
      const band = effectiveBand(t.band);
      const service = band === Band.BAND_PRODUCTION || band === Band.BAND_MONITORING;
      // A revocable task's own usage counts for nothing the allocation signal reads.
      const fraction = t.onRevocable ? 1 : usedFraction(service, this.phase, traceS, this.model);
      loads.push({
        key: t.key,
        allocCpus: t.cpus,
        allocMem: t.mem,
        usedCpus: t.cpus * fraction,
        usedMem: t.mem * fraction,
        throttledS: 0,
        onRevocable: t.onRevocable,
        startedAt: t.startedAt,
      });
    }
    return loads;
  }

  /** One sample at trace second `traceS`: report the estimate when it changed, evict what the QoS says. */
  sample(tasks: Iterable<ReclaimTask>, traceS: number): void {
    const loads = this.loads(tasks, traceS);
    const { report, evictions } = this.step.next(loads, QUIET_MACHINE);
    if (report) this.deps.report(report);
    for (const eviction of evictions) this.deps.evict(eviction.key, eviction.message);
  }
}
