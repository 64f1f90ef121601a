/**
 * The cpu lending decision (Baidu Galaxy's `cpu_extra`): how much idle cpu each soft-limited
 * container (`limits.cpu_excess`) is lent above its requested quota, from one interval's samples.
 * Pure: the controller (./controller.ts) samples, calls {@link planLoans} and writes the quotas.
 *
 * - Idle below `lowIdle`: every loan is taken back at once (the regular tasks need their cpu).
 * - Idle above `highIdle`: each hungry container (it used nearly its whole quota, or was
 *   throttled) gets one `step` more, smallest loans first, while the round's grants stay within
 *   what is idle above `highIdle`, and no loan exceeds `maxLoan`.
 * - A container that leaves at least a `step` of its quota unused for `patience` intervals in a
 *   row gives one `step` back (a short dip does not cost a bursty service its loan; and a
 *   container slowed by a busy neighbour keeps its loan until the reclaim, which is at once).
 * - A loan is never negative: a container's quota never goes below what it requested.
 */

/** The thresholds (millicores of the machine's idle cpu) and steps of the lending. */
export interface CpuLendConfig {
  /** Time between samples (ms). */
  readonly intervalMs: number;
  /** Idle cpu above which the agent lends (millicores). */
  readonly highIdle: number;
  /** Idle cpu below which every loan is taken back at once (millicores); at most `highIdle`. */
  readonly lowIdle: number;
  /** Millicores lent or given back per container per interval. */
  readonly step: number;
  /** Most a container is lent (millicores). */
  readonly maxLoan: number;
  /** A container using at least this share of its quota is hungry (0–1). */
  readonly busyShare: number;
  /** A container throttled for at least this share of the interval is hungry too (0–1). */
  readonly throttledShare: number;
  /** Intervals in a row a container leaves a step of its quota unused before it gives one back. */
  readonly patience: number;
}

/** Defaults: 1 s samples; lend while a whole core is idle, reclaim under half a core. */
export const DEFAULT_CPU_LEND: CpuLendConfig = {
  intervalMs: 1000,
  highIdle: 1000,
  lowIdle: 500,
  step: 250,
  maxLoan: 4000,
  busyShare: 0.9,
  throttledShare: 0.1,
  patience: 3,
};

/** One soft-limited container over the last interval. */
export interface LoanSample {
  readonly id: string;
  /** What it asked for (millicores): its quota without a loan. */
  readonly requested: number;
  /** What it is lent now (millicores). */
  readonly loan: number;
  /** What it used over the interval (millicores). */
  readonly used: number;
  /** Share of the interval it was throttled by its quota (0–1). */
  readonly throttled: number;
  /** Intervals in a row before this one it left a step of its quota unused (from the last plan). */
  readonly spare: number;
}

/** What the controller does this interval. */
export interface LoanPlan {
  /** The new loan of every sampled container (millicores, ≥ 0). */
  readonly loans: ReadonlyMap<string, number>;
  /** Each container's intervals in a row with a step unused, for its next sample. */
  readonly spare: ReadonlyMap<string, number>;
  /** True when idle fell below `lowIdle` and loans were taken back. */
  readonly reclaimed: boolean;
}

/** True when the container used (nearly) all of its quota. */
function hungry(sample: LoanSample, config: CpuLendConfig): boolean {
  const quota = sample.requested + sample.loan;
  return sample.used >= config.busyShare * quota || sample.throttled >= config.throttledShare;
}

/** The loans for this interval, from the machine's idle cpu (millicores) and the containers' samples. */
export function planLoans(idle: number, samples: readonly LoanSample[], config: CpuLendConfig): LoanPlan {
  const loans = new Map<string, number>();
  const spare = new Map<string, number>();
  if (idle < config.lowIdle) {
    for (const s of samples) {
      loans.set(s.id, 0);
      spare.set(s.id, 0);
    }
    return { loans, spare, reclaimed: samples.some((s) => s.loan > 0) };
  }
  let room = idle > config.highIdle ? idle - config.highIdle : 0;
  // Smallest loans first, so that one container does not take all the room round after round.
  const order = [...samples].sort((a, b) => a.loan - b.loan || a.id.localeCompare(b.id));
  for (const s of order) {
    const loan = Math.max(0, s.loan);
    let next = loan;
    let unused = 0;
    if (hungry(s, config)) {
      const grant = Math.max(0, Math.min(config.step, room, config.maxLoan - loan));
      room -= grant;
      next = loan + grant;
    } else if (s.requested + loan - s.used >= config.step) {
      unused = Math.max(0, s.spare) + 1;
      if (unused >= config.patience) {
        next = Math.max(0, loan - config.step);
        unused = 0;
      }
    }
    // A loan above maxLoan (the setting was lowered) is cut to it.
    loans.set(s.id, Math.min(next, config.maxLoan));
    spare.set(s.id, unused);
  }
  return { loans, spare, reclaimed: false };
}
