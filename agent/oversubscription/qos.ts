/**
 * The QoS controller's decision (Mesos' oversubscription): which tasks on revocable resources to
 * evict because the regular tasks need their resources back. Pure; ./controller.ts carries it out.
 *
 * Three signals, each checked every sample:
 * - **allocation**: the regular tasks' headroom (./estimator.ts) no longer covers what the
 *   revocable tasks hold: the regular tasks' usage came close to their allocation.
 * - **cpu contention**: the machine's idle cpu is under a threshold while some regular task was
 *   throttled during the interval.
 * - **memory pressure**: the machine's available memory (free + reclaimable cache) is under a
 *   threshold.
 * Victims are the newest revocable tasks first (they lost the least work), as many as cover the
 * deficit, and at least one per sample while a signal holds. Cpu signals must hold for `sustain`
 * samples in a row (a burst of a moment evicts nothing); memory acts at once (it cannot wait).
 */
import { headroom, type TaskLoad } from './estimator.js';

/** The machine as one sample sees it. */
export interface MachineLoad {
  /** Fraction of all cpus idle during the last interval, 0..1. */
  readonly idle: number;
  /** Bytes free plus reclaimable cache (MemAvailable). */
  readonly memAvailable: number;
}

/** The QoS controller's thresholds (`galaxy agent --oversubscribe-*`). */
export interface QosTuning {
  /**
   * Margin of the headroom the revocable tasks must fit: half the estimator's (the controller's
   * hysteresis), so that usage wobbling around the lending line evicts nothing. Default 0.1.
   */
  readonly margin: number;
  /** Idle fraction under which throttled regular tasks mean contention (0 disables). Default 0.1. */
  readonly minIdle: number;
  /** Available memory under which revocable tasks go (bytes; 0 disables). Default 256 MiB. */
  readonly minMemAvailable: number;
  /** Samples in a row a cpu signal must hold. Default 2. */
  readonly sustain: number;
}

/** Defaults of {@link QosTuning}. */
export const DEFAULT_QOS_TUNING: QosTuning = {
  margin: 0.1,
  minIdle: 0.1,
  minMemAvailable: 256 * 1024 * 1024,
  sustain: 2,
};

/** One eviction: the task and why. */
export interface Eviction {
  readonly key: string;
  readonly message: string;
}

/** What the controller remembers between samples: how long the cpu signal has held. */
export interface QosState {
  readonly cpuStreak: number;
}

/** Decides the evictions of one sample. */
export function decideEvictions(
  tasks: readonly TaskLoad[],
  machine: MachineLoad,
  state: QosState,
  tuning: QosTuning = DEFAULT_QOS_TUNING,
): { evictions: Eviction[]; state: QosState } {
  const revocable = tasks.filter((t) => t.onRevocable).sort((a, b) => b.startedAt - a.startedAt);
  if (revocable.length === 0) return { evictions: [], state: { cpuStreak: 0 } };
  const room = headroom(tasks, tuning.margin);
  const heldCpus = revocable.reduce((n, t) => n + t.allocCpus, 0);
  const heldMem = revocable.reduce((n, t) => n + t.allocMem, 0);
  const usedMem = revocable.reduce((n, t) => n + t.usedMem, 0);

  // Memory: at once. What the regular tasks' headroom lacks of what revocable tasks hold, and
  // what the machine lacks (given back by what revocable tasks use).
  const memAllocShort = heldMem - room.mem;
  const memPressureShort =
    tuning.minMemAvailable > 0 && machine.memAvailable < tuning.minMemAvailable
      ? Math.min(usedMem, tuning.minMemAvailable - machine.memAvailable)
      : 0;
  // Cpu: only when it lasted.
  const throttled = tasks.some((t) => !t.onRevocable && t.throttledS > 0);
  const contended = tuning.minIdle > 0 && machine.idle < tuning.minIdle && throttled;
  const cpuShort = heldCpus - room.cpus;
  const cpuSignal = cpuShort > 0 || contended;
  const cpuStreak = cpuSignal ? state.cpuStreak + 1 : 0;
  const cpuActs = cpuSignal && cpuStreak >= tuning.sustain;

  const evictions: Eviction[] = [];
  let freedCpus = 0;
  let freedAllocMem = 0;
  let freedUsedMem = 0;
  for (const task of revocable) {
    const memNeeded = freedAllocMem < memAllocShort || freedUsedMem < memPressureShort;
    // Contention without an allocation deficit: one victim per sample.
    const cpuNeeded = cpuActs && (cpuShort > 0 ? freedCpus < cpuShort : evictions.length === 0);
    if (!memNeeded && !cpuNeeded) break;
    const why = memNeeded
      ? freedAllocMem < memAllocShort
        ? `regular tasks need their memory back: ${mib(room.mem)} MiB unused beyond the margin, ${mib(heldMem)} MiB held by revocable tasks`
        : `memory pressure: ${mib(machine.memAvailable)} MiB available, under ${mib(tuning.minMemAvailable)} MiB`
      : cpuShort > 0
        ? `regular tasks need their cpu back: ${room.cpus} mcpu unused beyond the margin, ${heldCpus} mcpu held by revocable tasks`
        : `cpu contention: ${Math.round(machine.idle * 100)}% idle and regular tasks throttled`;
    evictions.push({ key: task.key, message: why });
    freedCpus += task.allocCpus;
    freedAllocMem += task.allocMem;
    freedUsedMem += task.usedMem;
  }
  return { evictions, state: { cpuStreak: cpuActs ? 0 : cpuStreak } };
}

function mib(bytes: number): number {
  return Math.round(bytes / (1024 * 1024));
}
