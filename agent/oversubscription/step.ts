/**
 * One sample of oversubscription, as the agent's controller and the simulator's agents both take
 * it: the estimate from the tasks' loads (./estimator.ts), whether it changed since it was last
 * reported, and the evictions the QoS decides (./qos.ts). It keeps the estimator's history, the QoS
 * state and the estimate last reported; the caller reports and evicts.
 */
import {
  headroom,
  nextEstimate,
  type Estimate,
  type EstimateHistory,
  type EstimatorTuning,
  type TaskLoad,
} from './estimator.js';
import {
  decideEvictions,
  DEFAULT_QOS_TUNING,
  type Eviction,
  type MachineLoad,
  type QosState,
  type QosTuning,
} from './qos.js';

/** What one sample decided. */
export interface StepOutcome {
  /** The estimate to report: it differs from the last one reported (undefined: unchanged). */
  readonly report?: Estimate;
  /** Revocable tasks to evict, newest first. */
  readonly evictions: readonly Eviction[];
}

/** The estimator's and the QoS's state across samples. */
export class OversubscriptionStep {
  private history: EstimateHistory = [];
  private qosState: QosState = { cpuStreak: 0 };
  private reported: Estimate | undefined;

  private readonly qos: QosTuning;

  /**
   * Hysteresis: lent while usage stays under alloc × (1 − margin), taken back only past
   * alloc × (1 − margin / 2), so that usage wobbling around the lending line evicts nothing.
   */
  constructor(
    private readonly estimator: EstimatorTuning,
    qos: Partial<Omit<QosTuning, 'margin'>> = {},
  ) {
    this.qos = { ...DEFAULT_QOS_TUNING, ...qos, margin: estimator.margin / 2 };
  }

  /** After a (re-)registration the master knows no estimate: the next one is reported either way. */
  forgetReported(): void {
    this.reported = undefined;
  }

  /** One sample of `loads` on a machine as `machine` says. */
  next(loads: readonly TaskLoad[], machine: MachineLoad): StepOutcome {
    const { history, estimate } = nextEstimate(this.history, headroom(loads, this.estimator.margin), this.estimator);
    this.history = history;
    const changed = this.reported?.cpus !== estimate.cpus || this.reported.mem !== estimate.mem;
    if (changed) this.reported = estimate;
    const { evictions, state } = decideEvictions(loads, machine, this.qosState, this.qos);
    this.qosState = state;
    return { ...(changed ? { report: estimate } : {}), evictions };
  }
}
