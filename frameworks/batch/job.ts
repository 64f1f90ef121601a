/**
 * One batch job's progress: which completion indices wait, run, succeeded or ran out of retries.
 */
import { OPEN_PRINCIPAL } from '../../core/auth/principal.js';
import { BatchJobState, type BatchJob, type BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';

/** A task of the job: which index, which attempt. */
export interface Attempt {
  readonly index: number;
  readonly attempt: number;
}

/** A job and its indices. */
export class JobRecord {
  state = BatchJobState.BATCH_PENDING;
  message = '';
  succeeded = 0;
  failed = 0;
  retried = 0;
  finishedAt = 0;
  /** Indices ready to launch, lowest first. */
  private readonly ready: number[] = [];
  /** Indices waiting out a retry backoff: index → when it may run again (ms). */
  private readonly backingOff = new Map<number, number>();
  private readonly attempts: number[];
  /**
   * Per index, how many of its attempts use up no retries: preempted ones, and launches the
   * master refused. Task ids are never reused (`attempts` only grows), so a late update of an
   * earlier attempt can never be taken for a later one.
   */
  private readonly uncounted: number[] = [];
  /** Running tasks by task id. */
  readonly running = new Map<string, Attempt>();
  /** Indices that had not run when the job finished (the per-index arrays are gone by then). */
  private pendingWhenDone = 0;

  constructor(
    readonly spec: BatchJobSpec,
    readonly submittedAt: number,
    /** The user who submitted it: its quota claim and its tasks' `galaxy.user` label. */
    readonly owner = OPEN_PRINCIPAL.user,
  ) {
    this.attempts = new Array<number>(spec.completions).fill(0);
    for (let i = spec.completions - 1; i >= 0; i--) this.ready.push(i);
  }

  /** True once nothing more will run. */
  get done(): boolean {
    return (
      this.state === BatchJobState.BATCH_SUCCEEDED ||
      this.state === BatchJobState.BATCH_FAILED ||
      this.state === BatchJobState.BATCH_CANCELLED
    );
  }

  /** How many more tasks may start now (parallelism minus running, bounded by what is ready). */
  launchable(now: number): number {
    if (this.done) return 0;
    for (const [index, at] of this.backingOff) {
      if (at <= now) {
        this.backingOff.delete(index);
        this.ready.push(index);
      }
    }
    return Math.min(this.ready.length, this.spec.parallelism - this.running.size);
  }

  /** Takes the next ready index and records its task. */
  launch(taskId: (index: number, attempt: number) => string): { taskId: string; index: number } | undefined {
    const index = this.ready.pop();
    if (index === undefined) return undefined;
    const attempt = (this.attempts[index] ?? 0) + 1;
    this.attempts[index] = attempt;
    const id = taskId(index, attempt);
    this.running.set(id, { index, attempt });
    this.state = BatchJobState.BATCH_RUNNING;
    return { taskId: id, index };
  }

  /** Puts a launch back (the master refused the ACCEPT): the index is ready again, no retry used. */
  unlaunch(taskId: string): void {
    const attempt = this.running.get(taskId);
    if (!attempt) return;
    this.running.delete(taskId);
    this.uncounted[attempt.index] = (this.uncounted[attempt.index] ?? 0) + 1;
    this.ready.push(attempt.index);
  }

  /**
   * A task ended. Returns true when the job changed state (finished). A `preempted` task is
   * ready again at once and does not count against its retries.
   */
  ended(taskId: string, success: boolean, now: number, preempted = false): boolean {
    const attempt = this.running.get(taskId);
    if (!attempt) return false;
    this.running.delete(taskId);
    if (this.done) return false; // cancelled or past its deadline: the kills' ends change nothing
    if (success) {
      this.succeeded += 1;
    } else if (preempted) {
      this.uncounted[attempt.index] = (this.uncounted[attempt.index] ?? 0) + 1;
      this.ready.push(attempt.index);
    } else if (attempt.attempt - (this.uncounted[attempt.index] ?? 0) <= this.spec.maxRetries) {
      this.retried += 1;
      this.backingOff.set(attempt.index, now + this.spec.backoffS * 1000 * 2 ** (attempt.attempt - 1));
    } else {
      this.failed += 1;
    }
    return this.settle(now);
  }

  /** Ends the job (early, or when its completions are all done): what it kept per index is let go. */
  finish(state: BatchJobState, message: string, now: number): void {
    this.state = state;
    this.message = message;
    this.finishedAt = now;
    this.pendingWhenDone = this.ready.length + this.backingOff.size;
    this.ready.length = 0;
    this.backingOff.clear();
    this.attempts.length = 0;
    this.uncounted.length = 0;
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
      succeeded: this.succeeded,
      failed: this.failed,
      retried: this.retried,
      running: this.running.size,
      pending: this.done ? this.pendingWhenDone : this.ready.length + this.backingOff.size,
      submittedAt: this.submittedAt / 1000,
      finishedAt: this.finishedAt / 1000,
      message: this.message,
      owner: this.owner,
    };
  }

  private settle(now: number): boolean {
    if (this.succeeded + this.failed < this.spec.completions) return false;
    if (this.failed > 0) {
      this.finish(
        BatchJobState.BATCH_FAILED,
        `${this.failed} of ${this.spec.completions} completions ran out of retries`,
        now,
      );
    } else {
      this.finish(BatchJobState.BATCH_SUCCEEDED, '', now);
    }
    return true;
  }
}
