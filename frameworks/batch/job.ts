/**
 * One batch job's progress: which completion indexes succeeded or ran out of retries, which run
 * (task id, attempt, agent), which wait out a retry's backoff, which are ready. An index is in
 * exactly one of those places at a time, so it never runs twice at once and succeeds at most once.
 * The whole of it is stored ({@link StoredBatchJob}) with every change, and a new leader picks
 * it up where the old one left it.
 */
import { OPEN_PRINCIPAL } from '../../core/auth/principal.js';
import { BatchJobState, type BatchJob, type BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import { IndexSet, type IndexRanges } from './index-set.js';

/** A task of the job: which index, which attempt, on which agent. */
export interface Attempt {
  readonly index: number;
  readonly attempt: number;
  readonly agentId: string;
}

/** Tries of an index not finished yet: attempts launched, and how many of them used no retry. */
interface Tries {
  attempts: number;
  uncounted: number;
}

/** Where a job came from when a cron job started it. */
export interface CronOrigin {
  readonly cron: string;
  /** The scheduled time of the run (ms). */
  readonly scheduledAt: number;
}

/** A job as stored in the coordinator (`/galaxy/batch/jobs/<name>`). */
export interface StoredBatchJob {
  readonly v: 1;
  readonly spec: BatchJobSpec;
  readonly owner: string;
  /** A random id of this submission; part of every task id, so a reused name never meets an old task. */
  readonly uid: string;
  readonly origin?: CronOrigin;
  readonly submittedAt: number;
  readonly state: BatchJobState;
  readonly message: string;
  readonly finishedAt: number;
  readonly retried: number;
  readonly succeeded: IndexRanges;
  readonly failed: IndexRanges;
  /** The lowest index never launched: every index from here up is ready. */
  readonly next: number;
  /** Indexes below `next` that are ready again (a retry's backoff passed, preempted, never launched). */
  readonly requeued: readonly number[];
  /** `[index, ms]`: ready again at that time. */
  readonly backingOff: readonly (readonly [number, number])[];
  /** `[index, attempts, uncounted]` of indexes tried and not finished. */
  readonly tries: readonly (readonly [number, number, number])[];
  /** `[taskId, index, attempt, agentId]` of the tasks that may be running. */
  readonly running: readonly (readonly [string, number, number, string])[];
}

/** A job and its indexes. */
export class JobRecord {
  state = BatchJobState.BATCH_PENDING;
  message = '';
  retried = 0;
  finishedAt = 0;
  /** Indexes that succeeded (each exactly once). */
  succeeded = new IndexSet();
  /** Indexes that ran out of retries. */
  failed = new IndexSet();
  /** The lowest index never launched. */
  private next = 0;
  /** Indexes below `next` ready again; taken from the end. */
  private readonly requeued: number[] = [];
  /** Indexes waiting out a retry backoff: index → when it may run again (ms). */
  private readonly backingOff = new Map<number, number>();
  /**
   * Per unfinished index, its attempts and how many of them use up no retries: preempted ones, and
   * launches the master refused or never saw. Attempt numbers only grow, so a late update of an
   * earlier attempt is never taken for a later one.
   */
  private readonly tries = new Map<number, Tries>();
  /** Running tasks by task id. */
  readonly running = new Map<string, Attempt>();

  constructor(
    readonly spec: BatchJobSpec,
    readonly submittedAt: number,
    /** The user who submitted it: its quota claim and its tasks' role. */
    readonly owner = OPEN_PRINCIPAL.user,
    readonly uid = '',
    readonly origin?: CronOrigin,
  ) {}

  /** The job as it was stored. */
  static fromStored(stored: StoredBatchJob): JobRecord {
    const job = new JobRecord(stored.spec, stored.submittedAt, stored.owner, stored.uid, stored.origin);
    job.state = stored.state;
    job.message = stored.message;
    job.finishedAt = stored.finishedAt;
    job.retried = stored.retried;
    job.succeeded = new IndexSet(stored.succeeded);
    job.failed = new IndexSet(stored.failed);
    job.next = stored.next;
    job.requeued.push(...stored.requeued);
    for (const [index, at] of stored.backingOff) job.backingOff.set(index, at);
    for (const [index, attempts, uncounted] of stored.tries) job.tries.set(index, { attempts, uncounted });
    for (const [taskId, index, attempt, agentId] of stored.running)
      job.running.set(taskId, { index, attempt, agentId });
    return job;
  }

  /** What is stored. */
  toStored(): StoredBatchJob {
    return {
      v: 1,
      spec: this.spec,
      owner: this.owner,
      uid: this.uid,
      ...(this.origin ? { origin: this.origin } : {}),
      submittedAt: this.submittedAt,
      state: this.state,
      message: this.message,
      finishedAt: this.finishedAt,
      retried: this.retried,
      succeeded: this.succeeded.toJSON(),
      failed: this.failed.toJSON(),
      next: this.next,
      requeued: [...this.requeued],
      backingOff: [...this.backingOff],
      tries: [...this.tries].map(([index, t]) => [index, t.attempts, t.uncounted] as const),
      running: [...this.running].map(([taskId, a]) => [taskId, a.index, a.attempt, a.agentId] as const),
    };
  }

  /** True once nothing more will run. */
  get done(): boolean {
    return (
      this.state === BatchJobState.BATCH_SUCCEEDED ||
      this.state === BatchJobState.BATCH_FAILED ||
      this.state === BatchJobState.BATCH_CANCELLED
    );
  }

  /** How many indexes are ready to launch now (a backoff that passed makes its index ready). */
  private ready(now: number): number {
    for (const [index, at] of this.backingOff) {
      if (at <= now) {
        this.backingOff.delete(index);
        this.requeued.push(index);
      }
    }
    return this.requeued.length + (this.spec.completions - this.next);
  }

  /** How many more tasks may start now: parallelism minus running, bounded by what is ready and by `cap` running. */
  launchable(now: number, cap = Infinity): number {
    if (this.done) return 0;
    const room = Math.min(this.spec.parallelism, cap) - this.running.size;
    return Math.max(0, Math.min(this.ready(now), room));
  }

  /** Takes the next ready index and records its task on `agentId`. */
  launch(
    taskId: (index: number, attempt: number) => string,
    agentId: string,
  ): { taskId: string; index: number } | undefined {
    let index = this.requeued.pop();
    if (index === undefined && this.next < this.spec.completions) index = this.next++;
    if (index === undefined) return undefined;
    const tries = this.tries.get(index) ?? { attempts: 0, uncounted: 0 };
    tries.attempts += 1;
    this.tries.set(index, tries);
    const id = taskId(index, tries.attempts);
    this.running.set(id, { index, attempt: tries.attempts, agentId });
    this.state = BatchJobState.BATCH_RUNNING;
    return { taskId: id, index };
  }

  /** Puts a launch back (the master refused the ACCEPT): the index is ready again, no retry used. */
  unlaunch(taskId: string): void {
    const attempt = this.running.get(taskId);
    if (!attempt) return;
    this.running.delete(taskId);
    this.uncount(attempt.index);
    this.requeued.push(attempt.index);
  }

  /**
   * A task ended. Returns true when that finished the job. A `preempted` task (or one the master
   * never saw) is ready again at once and uses up no retry; a failure is retried after a backoff
   * that doubles with every attempt, until `maxRetries` retries are used; `maxRetries: 0` means a
   * failed index fails at once.
   */
  ended(taskId: string, success: boolean, now: number, preempted = false): boolean {
    const attempt = this.running.get(taskId);
    if (!attempt) return false;
    this.running.delete(taskId);
    if (this.done) return false; // cancelled or past its deadline: the kills' ends change nothing
    const { index } = attempt;
    const tries = this.tries.get(index) ?? { attempts: attempt.attempt, uncounted: 0 };
    if (success) {
      this.succeeded.add(index);
      this.tries.delete(index);
    } else if (preempted) {
      this.uncount(index);
      this.requeued.push(index);
    } else if (attempt.attempt - tries.uncounted <= (this.spec.maxRetries ?? 3)) {
      this.retried += 1;
      this.backingOff.set(index, now + this.spec.backoffS * 1000 * 2 ** (attempt.attempt - tries.uncounted - 1));
    } else {
      this.failed.add(index);
      this.tries.delete(index);
    }
    return this.settle(now);
  }

  /**
   * Ends the job (early, or when its completions are all done). What it keeps per index is small
   * already (ranges, and only the indexes launched and not finished), so nothing is let go here: a
   * finish the store refused is undone by finishing again with the state before.
   */
  finish(state: BatchJobState, message: string, now: number): void {
    this.state = state;
    this.message = message;
    this.finishedAt = now;
  }

  /** Earliest pending retry time, if any (ms). */
  nextRetryAt(): number | undefined {
    return this.backingOff.size === 0 ? undefined : Math.min(...this.backingOff.values());
  }

  /** The job as the API reports it. */
  toProto(): BatchJob {
    return {
      spec: this.spec,
      state: this.state,
      succeeded: this.succeeded.size,
      failed: this.failed.size,
      retried: this.retried,
      running: this.running.size,
      // What had not run: of a job that ended early, the indexes it never got to.
      pending: this.requeued.length + (this.spec.completions - this.next) + this.backingOff.size,
      submittedAt: this.submittedAt / 1000,
      finishedAt: this.finishedAt / 1000,
      message: this.message,
      owner: this.owner,
      cron: this.origin?.cron ?? '',
    };
  }

  private uncount(index: number): void {
    const tries = this.tries.get(index);
    if (tries) tries.uncounted += 1;
  }

  private settle(now: number): boolean {
    const failed = this.failed.size;
    if (this.succeeded.size + failed < this.spec.completions) return false;
    if (failed > 0) {
      this.finish(
        BatchJobState.BATCH_FAILED,
        `${failed} of ${this.spec.completions} completions ran out of retries`,
        now,
      );
    } else {
      this.finish(BatchJobState.BATCH_SUCCEEDED, '', now);
    }
    return true;
  }
}
