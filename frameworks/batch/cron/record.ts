/**
 * A cron job: a batch spec run on a schedule, owned like a batch job. It remembers the last
 * scheduled time it handled, its active runs and its finished runs (kept up to the history
 * limits). Every run is a batch job named `<cron>-<scheduled unix seconds>`, so that starting the
 * same run twice (a leader that died between starting a run and storing the cron job) finds the
 * run already there.
 */
import { BatchJobState, type CronJob as CronJobMessage, type CronRun } from '../../../proto/gen/galaxy/v1/batch.js';
import { scheduleToProto, specToProto } from '../spec/parse.js';
import type { BatchSpec, Schedule } from '../spec/schema.js';
import type { CronState } from './plan.js';

/** A run of a cron job. */
export interface RunRef {
  readonly job: string;
  /** Its scheduled time (ms). */
  readonly scheduledAt: number;
}

/** A finished run, as the history keeps it. */
export interface FinishedRun extends RunRef {
  readonly state: BatchJobState;
  readonly message: string;
}

/** A cron job as stored (`/galaxy/batch/crons/<name>`). */
export interface StoredCron {
  readonly v: 1;
  /** The batch spec of every run (without its schedule); `spec.name` is the cron job's name. */
  readonly spec: BatchSpec;
  readonly schedule: Schedule;
  readonly owner: string;
  readonly suspended: boolean;
  readonly createdAt: number;
  readonly lastScheduledAt: number;
  readonly missed: number;
  readonly message: string;
  readonly active: readonly RunRef[];
  /** Newest first. */
  readonly history: readonly FinishedRun[];
}

/** The name of the run of `cron` scheduled at `scheduledAt` (ms). */
export function runName(cron: string, scheduledAt: number): string {
  return `${cron}-${Math.floor(scheduledAt / 1000)}`;
}

const SUCCEEDED = BatchJobState.BATCH_SUCCEEDED;

/** A cron job and its runs. */
export class CronRecord {
  suspended: boolean;
  lastScheduledAt: number;
  missed: number;
  message: string;
  active: RunRef[];
  history: FinishedRun[];

  constructor(private readonly stored: StoredCron) {
    this.suspended = stored.suspended;
    this.lastScheduledAt = stored.lastScheduledAt;
    this.missed = stored.missed;
    this.message = stored.message;
    this.active = [...stored.active];
    this.history = [...stored.history];
  }

  get name(): string {
    return this.stored.spec.name;
  }

  get owner(): string {
    return this.stored.owner;
  }

  get spec(): BatchSpec {
    return this.stored.spec;
  }

  get schedule(): Schedule {
    return this.stored.schedule;
  }

  /** What the planner looks at. */
  planState(): CronState {
    return {
      concurrencyPolicy: this.schedule.concurrencyPolicy,
      startingDeadlineS: this.schedule.startingDeadlineS,
      suspended: this.suspended,
      lastScheduledAt: this.lastScheduledAt,
      active: this.active.length,
    };
  }

  /** What is stored. */
  toStored(): StoredCron {
    return {
      ...this.stored,
      suspended: this.suspended,
      lastScheduledAt: this.lastScheduledAt,
      missed: this.missed,
      message: this.message,
      active: [...this.active],
      history: [...this.history],
    };
  }

  /**
   * Moves the active runs that `stateOf` reports ended (or gone) into the history, newest first,
   * and trims it to the limits. Returns the runs dropped from the history (their jobs are to be
   * forgotten), or undefined when nothing changed.
   */
  settle(
    stateOf: (job: string) => { state: BatchJobState; message: string; done: boolean } | undefined,
  ): RunRef[] | undefined {
    const ended: FinishedRun[] = [];
    this.active = this.active.filter((run) => {
      const now = stateOf(run.job);
      if (now && !now.done) return true;
      ended.push({
        ...run,
        state: now?.state ?? BatchJobState.BATCH_FAILED,
        message: now?.message ?? 'the run is gone',
      });
      return false;
    });
    if (ended.length === 0) return undefined;
    this.history = [...ended, ...this.history].sort((a, b) => b.scheduledAt - a.scheduledAt);
    let kept = { ok: 0, failed: 0 };
    const dropped: RunRef[] = [];
    this.history = this.history.filter((run) => {
      const ok = run.state === SUCCEEDED;
      const limit = ok ? this.schedule.successfulJobsHistoryLimit : this.schedule.failedJobsHistoryLimit;
      const count = ok ? kept.ok : kept.failed;
      if (count >= limit) {
        dropped.push({ job: run.job, scheduledAt: run.scheduledAt });
        return false;
      }
      kept = ok ? { ...kept, ok: kept.ok + 1 } : { ...kept, failed: kept.failed + 1 };
      return true;
    });
    return dropped;
  }

  /** The cron job as the API reports it; `stateOf` gives the active runs' states. */
  toProto(nextRunAt: number | undefined, stateOf: (job: string) => BatchJobState | undefined): CronJobMessage {
    const run = (r: RunRef, state: BatchJobState, message = ''): CronRun => ({
      job: r.job,
      scheduledAt: r.scheduledAt / 1000,
      state,
      message,
    });
    return {
      spec: specToProto(this.spec),
      schedule: scheduleToProto({ ...this.schedule, suspend: this.suspended }),
      owner: this.owner,
      suspended: this.suspended,
      createdAt: this.stored.createdAt / 1000,
      lastScheduledAt: this.lastScheduledAt / 1000,
      nextRunAt: this.suspended || nextRunAt === undefined ? 0 : nextRunAt / 1000,
      active: this.active.map((r) => run(r, stateOf(r.job) ?? BatchJobState.BATCH_PENDING)),
      history: this.history.map((r) => run(r, r.state, r.message)),
      missed: this.missed,
      message: this.message,
    };
  }
}
