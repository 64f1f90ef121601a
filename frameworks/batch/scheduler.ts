/**
 * The batch framework's scheduler: admits jobs (authorities, quota, the owner's role), launches
 * their completion indexes into offers within each job's parallelism, retries failures with
 * backoff, and ends jobs at their deadline. Every job is stored ({@link RecordStore}) before what
 * depends on it happens: a submit answers once the job is stored, a launch is stored before the
 * ACCEPT, and a status update is acknowledged only once its effect is stored. So a new leader (a
 * standby, or the same process restarted) loads every job as it was, asks the master about every
 * task in flight (explicit reconciliation), adopts those still running, runs again those the
 * master never saw, and never runs an index twice at once.
 */
import { randomBytes } from 'node:crypto';
import { GalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { addResources, containsResources, emptyResources } from '../../core/resources.js';
import { isGone } from '../../core/task-state.js';
import { TaskState, type Offer, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { BatchJobState, type BatchJob, type BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import type { Scheduler, SubscribedInfo } from '../sdk/scheduler.js';
import { OfferGate, type OfferRound } from '../sdk/offer-gate.js';
import { RecordStore } from '../sdk/records.js';
import { footprintOf, type JobTenancy } from '../sdk/tenancy.js';
import { offerFits, OwnerRoles } from '../sdk/owner-roles.js';
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import { claimJobName, type OwnedJob } from '../../core/tenancy/ownership.js';
import { JobRecord, type CronOrigin, type StoredBatchJob } from './job.js';
import { BatchMetrics } from './metrics.js';
import { InFlightTasks } from './in-flight.js';
import { batchTask, bindsAllowed } from './task.js';
import { bandOf, PREEMPTED_REASON } from '../../core/bands.js';
import { RESOURCES_REVOKED_REASON } from '../../core/revocable.js';
import { batchSpecFromProto, specToProto } from './spec/parse.js';
import type { BatchSpec } from './spec/schema.js';
import { checkCompletions, DEFAULT_BATCH_LIMITS, type BatchLimits } from './limits.js';
import { finishedToForget } from '../sdk/finished-jobs.js';
import { EventPublisher } from '../sdk/event-publisher.js';
import { endedEvent, submittedEvent } from './job-events.js';

/** Where batch jobs are stored. */
export const JOBS_PREFIX = '/galaxy/batch/jobs';

/** A job as the ownership rule sees it. */
export function ownedJob(job: JobRecord): OwnedJob {
  return { name: job.spec.name, owner: job.owner, pool: job.spec.pool };
}

/** Most tasks of one job running at once, whatever its parallelism: its stored record stays small. */
export const MAX_RUNNING_PER_JOB = 5_000;

/** How a batch scheduler runs. */
export interface BatchSchedulerOptions {
  /** Where jobs are stored; default volatile (nothing survives the process). */
  readonly store?: RecordStore;
  /** The clock (ms). */
  readonly now?: () => number;
  /**
   * Completions per user, and how long and how many finished jobs are kept (cron runs are kept by
   * their cron job's history limits instead).
   */
  readonly limits?: BatchLimits;
}

/** Jobs and their tasks. */
export class BatchScheduler implements Scheduler {
  private readonly jobs = new Map<string, JobRecord>();
  /** The framework's Prometheus metrics (`metrics.ts`). */
  readonly metrics = new BatchMetrics(() => this.jobs.values());
  /** Tasks in flight: their jobs, agents, and when the master last spoke of them. */
  private readonly inFlight = new InFlightTasks();
  private lastCollect = 0;
  private driver: SchedulerDriver | undefined;
  private readonly gate = new OfferGate();
  private timer?: NodeJS.Timeout;
  /** Jobs whose submit is being authorized, admitted and stored, by name. */
  private readonly admitting = new Map<string, { owner: string; completions: number }>();
  /** Authorities and quotas; without them (no coordinator) callers may do everything, unmetered. */
  private tenancy: JobTenancy | undefined;
  private readonly store: RecordStore;
  private readonly now: () => number;
  private readonly limits: BatchLimits;
  /** Each job's tasks run in its owner's role: the framework holds the roles of its live jobs' owners. */
  readonly roles: OwnerRoles;
  /** Called every tick after the jobs' own work (the cron runner). */
  onTick: (now: number) => void = () => undefined;
  /** Job events for the master's event log (submitted, and how each job ended). */
  readonly events: EventPublisher;

  constructor(
    private readonly log: Logger,
    options: BatchSchedulerOptions = {},
  ) {
    this.roles = new OwnerRoles(log);
    this.events = new EventPublisher(() => this.driver, log);
    this.store = options.store ?? new RecordStore(undefined, JOBS_PREFIX, log);
    this.now = options.now ?? Date.now;
    this.limits = options.limits ?? DEFAULT_BATCH_LIMITS;
  }

  /** Checks authorities and admits quotas through `tenancy` from now on (set before the API serves). */
  useTenancy(tenancy: JobTenancy): void {
    this.tenancy = tenancy;
  }

  /**
   * Loads the stored jobs (before subscribing: their owners' roles go with the subscription),
   * claims their records for this leader, and drops quota claims no stored job holds any more (a
   * submit or an end interrupted by a crash).
   */
  async recover(): Promise<void> {
    for (const { name, value } of await this.store.loadAll()) {
      let job: JobRecord;
      try {
        job = JobRecord.fromStored(value as StoredBatchJob);
      } catch (error) {
        this.log.error({ job: name, err: String(error) }, 'a stored batch job cannot be read; skipped');
        continue;
      }
      this.jobs.set(name, job);
      for (const [taskId, attempt] of job.running) {
        // Heard of long ago: the reconciliation after the subscription asks about it at once.
        this.inFlight.add(taskId, name, attempt.agentId, 0);
      }
      if (!job.done) this.roles.adopt(job.owner);
    }
    // Writing every live record once fences a deposed leader: its next write loses its compare-and-set.
    await Promise.all([...this.jobs.values()].filter((j) => !j.done || j.running.size > 0).map((j) => this.save(j)));
    const released = await this.tenancy?.releaseStrayClaims((name) => this.jobs.get(name)?.done === false);
    if (released) this.log.warn({ claims: released }, 'quota claims of jobs that are not stored were released');
    if (this.jobs.size > 0) this.log.info({ jobs: this.jobs.size }, 'batch jobs recovered');
  }

  /** Called once the driver is subscribed. */
  attach(driver: SchedulerDriver): void {
    this.driver = driver;
    this.gate.attach(driver);
    this.roles.attach(driver);
    this.timer = setInterval(() => {
      this.tick();
    }, 250);
    this.timer.unref();
  }

  /** Stops the timers; resolves once every queued write has landed. */
  async detach(): Promise<void> {
    clearInterval(this.timer);
    await this.events.close();
    this.driver = undefined;
    await this.store.flush();
  }

  /**
   * Admits a job: the caller needs `job:create` on its pool (and its band's authority, though the
   * batch bands need none), and parallelism × per-task resources must fit the caller's quota (the
   * claim is released when the job ends); the framework then holds the caller's role, where the
   * job's tasks run. A name another user's job holds (finished or not) is taken; the caller's own
   * live job of the same name is refused, a finished one replaced. The job is stored before this
   * answers; a refusal, or a failed store, changes nothing.
   */
  async submit(spec: BatchJobSpec, caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob> {
    const validated = batchSpecFromProto(spec);
    if (validated.schedule)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `batch job ${validated.name} has a schedule: create it with "galaxy batch cron create"`,
      );
    return (await this.admit(validated, caller)).toProto();
  }

  /** Admits and stores a validated job for `caller` (a cron run: for the cron job's owner). */
  async admit(spec: BatchSpec, caller: Principal, origin?: CronOrigin): Promise<JobRecord> {
    const normalized = specToProto(spec);
    const name = normalized.name;
    const live = () => {
      if (this.admitting.has(name))
        throw new GalaxyError('GALAXY_E_TASK_DUPLICATE', `batch job ${name} is being submitted`);
      const existing = this.jobs.get(name);
      if (claimJobName(caller, name, existing?.owner) === 'own' && existing && !existing.done)
        throw new GalaxyError('GALAXY_E_TASK_DUPLICATE', `batch job ${name} is still running`);
    };
    await this.tenancy?.authorize(caller, normalized.pool, 'job:create');
    live();
    // Completions cost memory until the job ends: one user's unfinished ones are capped.
    let unfinished = 0;
    for (const job of this.jobs.values())
      if (!job.done && job.owner === caller.user) unfinished += job.spec.completions;
    for (const other of this.admitting.values()) if (other.owner === caller.user) unfinished += other.completions;
    checkCompletions(caller.user, unfinished, normalized.completions, this.limits.completionsPerUser);
    this.admitting.set(name, { owner: caller.user, completions: normalized.completions });
    try {
      await this.tenancy?.authorizeBand(caller, normalized.pool, bandOf(normalized.band));
      const perTask = normalized.resources ?? emptyResources();
      await this.tenancy?.admit(caller.user, name, footprintOf(perTask, normalized.parallelism, normalized.pool));
      const job = new JobRecord(normalized, this.now(), caller.user, randomBytes(4).toString('hex'), origin);
      try {
        await this.roles.hold(caller.user);
        try {
          await this.store.create(name, job.toStored());
        } catch (error) {
          this.roles.release(caller.user);
          throw error;
        }
      } catch (error) {
        await this.tenancy?.release(caller.user, name).catch(() => undefined);
        throw error;
      }
      const replaced = this.jobs.get(name);
      if (replaced) for (const taskId of replaced.running.keys()) this.inFlight.forget(taskId);
      this.jobs.set(name, job);
      this.log.info({ job: name, completions: normalized.completions, owner: caller.user }, 'batch job submitted');
      this.events.publish(submittedEvent(job, caller.user));
      this.gate.revive();
      return job;
    } finally {
      this.admitting.delete(name);
    }
  }

  /** The jobs the caller may show (`job:list`; others' jobs also `job:any`), oldest first. */
  async list(caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob[]> {
    const visible = (await this.tenancy?.jobFilter(caller)) ?? (() => true);
    return [...this.jobs.values()].filter((j) => visible(ownedJob(j))).map((j) => j.toProto());
  }

  /** One job; needs `job:list` on its pool (and `job:any` for another user's). */
  async show(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob> {
    const job = this.job(name);
    await this.tenancy?.authorizeJob(caller, ownedJob(job), 'job:list');
    return job.toProto();
  }

  /** Cancels a job (needs `job:remove`, as it ends the job, and `job:any` for another user's): kills what runs, launches nothing more. */
  async cancel(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob> {
    const job = this.job(name);
    await this.tenancy?.authorizeJob(caller, ownedJob(job), 'job:remove');
    if (!job.done) await this.end(job, BatchJobState.BATCH_CANCELLED, 'cancelled', caller.user);
    return job.toProto();
  }

  /** The job named `name`, if this framework has it. */
  get(name: string): JobRecord | undefined {
    return this.jobs.get(name);
  }

  /** The jobs cron jobs started. */
  cronRuns(): JobRecord[] {
    return [...this.jobs.values()].filter((job) => job.origin !== undefined);
  }

  /** Forgets a finished job (a cron job's history trimmed); a live one is cancelled first. */
  async remove(name: string): Promise<void> {
    const job = this.jobs.get(name);
    if (!job) return;
    if (!job.done) await this.end(job, BatchJobState.BATCH_CANCELLED, 'removed');
    await this.store.remove(name);
    if (this.jobs.get(name) === job) this.jobs.delete(name);
  }

  /**
   * Ends `job` now: stored, then what it runs is killed and what it holds released. When the end
   * cannot be stored the job goes on as it was, and this rejects.
   */
  async end(job: JobRecord, state: BatchJobState, message: string, actor?: string): Promise<void> {
    const before = { state: job.state, message: job.message, finishedAt: job.finishedAt };
    job.finish(state, message, this.now());
    try {
      await this.save(job);
    } catch (error) {
      job.finish(before.state, before.message, before.finishedAt);
      throw error;
    }
    for (const [taskId, attempt] of job.running) void this.driver?.kill(taskId, attempt.agentId).catch(() => undefined);
    this.release(job);
    this.publishEnd(job, actor);
  }

  /** The job's end, for the event log. */
  private publishEnd(job: JobRecord, actor?: string): void {
    const event = endedEvent(job, actor);
    if (event) this.events.publish(event);
  }

  /** The job ended: its owner's claim goes, and the owner's role unless another job holds it. */
  private release(job: JobRecord): void {
    this.roles.release(job.owner);
    void this.tenancy?.release(job.owner, job.spec.name).catch((error: unknown) => {
      this.log.warn({ job: job.spec.name, err: String(error) }, 'quota claim not released');
    });
  }

  subscribed(driver: SchedulerDriver, info: SubscribedInfo): void {
    this.gate.reset();
    // Explicit reconciliation of every task in flight: after a failover these are the tasks the
    // last leader launched, which the master may or may not know.
    const batches = this.inFlight.batches();
    for (const batch of batches)
      void driver.reconcile(batch).catch((error: unknown) => {
        this.log.warn({ err: String(error), tasks: batch.length }, 'reconciliation failed; it is tried again');
      });
    const tasks = batches.reduce((n, batch) => n + batch.length, 0);
    if (tasks > 0)
      this.log.info({ tasks, resubscribed: info.resubscribed }, 'reconciling the tasks in flight with the master');
  }

  disconnected(): void {
    this.gate.reset();
  }

  offers(driver: SchedulerDriver, offers: Offer[]): void {
    const round = this.gate.round();
    const now = this.now();
    const open = [...this.jobs.values()].filter((j) => j.launchable(now, MAX_RUNNING_PER_JOB) > 0);
    const planned: { offer: Offer; tasks: TaskInfo[]; launched: { job: JobRecord; taskId: string }[] }[] = [];
    for (const offer of offers) {
      const tasks: TaskInfo[] = [];
      const launched: { job: JobRecord; taskId: string }[] = [];
      let used = emptyResources();
      for (const job of open) {
        if (job.spec.pool !== offer.pool || !offerFits(offer, job.owner) || !bindsAllowed(job.spec, offer)) continue;
        const perTask = job.spec.resources ?? emptyResources();
        let room = job.launchable(now, MAX_RUNNING_PER_JOB);
        while (room > 0 && offer.resources && containsResources(offer.resources, addResources(used, perTask))) {
          const next = job.launch((index, attempt) => `${job.spec.name}.${job.uid}.${index}.${attempt}`, offer.agentId);
          if (!next) break;
          used = addResources(used, perTask);
          room -= 1;
          launched.push({ job, taskId: next.taskId });
          this.inFlight.add(next.taskId, job.spec.name, offer.agentId, now);
          tasks.push(batchTask(job, next.taskId, next.index, offer.agentId, offer.revocable === true));
        }
      }
      planned.push({ offer, tasks, launched });
    }
    // Nothing more to launch: SUPPRESS (what is planned is already counted as launched).
    const idle = ![...this.jobs.values()].some((j) => j.launchable(now, MAX_RUNNING_PER_JOB) > 0);
    // The store writes and the ACCEPTs are not awaited here: the driver runs one handler at a time,
    // and the status updates that arrive meanwhile waited behind each round's writes and the
    // master's answers to its ACCEPTs (issue 16: 11–19 s at 2,000 agents). The plan above is
    // already in the jobs (a later round plans around it); the outcome is settled when it comes.
    void this.launchPlanned(driver, planned, round).catch((error: unknown) => {
      this.log.error({ err: String(error) }, 'a round of launches failed');
    });
    // Not awaited either: a SUPPRESS's answer must not hold up the next events (the gate keeps
    // REVIVE and SUPPRESS in order).
    if (idle) void this.gate.suppress();
  }

  /**
   * Stores the launches of a round (write-ahead: a new leader knows every task that may run and
   * never runs its index again beside it), then ACCEPTs each offer with its tasks and DECLINEs what
   * is not used in one call. A launch not stored, or refused, is put back.
   */
  private async launchPlanned(
    driver: SchedulerDriver,
    planned: readonly { offer: Offer; tasks: TaskInfo[]; launched: { job: JobRecord; taskId: string }[] }[],
    round: OfferRound,
  ): Promise<void> {
    const touched = new Set(planned.flatMap((p) => p.launched.map((l) => l.job)));
    const stored = await Promise.all(
      [...touched].map((job) =>
        this.save(job).then(
          () => true,
          () => false,
        ),
      ),
    );
    const unstored = new Set([...touched].filter((_, i) => !stored[i]));
    // What is not used goes back in one DECLINE (one call per offer was thousands of calls per
    // round on a cell of thousands of agents, while the status updates waited behind them).
    const declined: string[] = [];
    const launching = planned.filter(({ offer, tasks, launched }) => {
      if (tasks.length > 0 && !launched.some((l) => unstored.has(l.job))) return true;
      this.putBack(launched);
      declined.push(offer.id);
      return false;
    });
    // The master refuses a whole DECLINE naming an offer it no longer holds (rescinded meanwhile):
    // then each is declined alone, so the others do not wait out their timeout. Not when the
    // master did not answer (GALAXY_E_UNAVAILABLE): a call per offer to a master that is slow to
    // answer was thousands more calls for it. Jobs submitted while this round was planned were
    // REVIVEd before this DECLINE: the gate REVIVEs again once it is answered, so that its filter
    // does not keep them off these agents.
    if (declined.length > 0)
      void driver
        .decline(declined, { refuseSeconds: 1 })
        .catch((error: unknown) => {
          if (error instanceof GalaxyError && error.code === 'GALAXY_E_UNAVAILABLE') return;
          return Promise.all(declined.map((id) => driver.decline([id], { refuseSeconds: 1 }).catch(() => undefined)));
        })
        .then(() => this.gate.declined(round));
    await Promise.all(
      launching.map(async ({ tasks, launched, offer }) => {
        try {
          await driver.launch([offer.id], tasks, { refuseSeconds: 0 });
        } catch (error) {
          if (error instanceof GalaxyError && error.code === 'GALAXY_E_UNAVAILABLE') {
            // The call timed out or the link broke: the master may have launched them. Whether it
            // did is asked at once by reconciliation; a task it does not know is launched again.
            this.log.warn({ err: String(error) }, 'launch outcome unknown; reconciling its tasks');
            for (const { taskId } of launched) this.inFlight.markSilent(taskId);
            return;
          }
          this.log.warn({ err: String(error) }, 'launch refused; the tasks wait for another offer');
          this.putBack(launched);
        }
      }),
    );
  }

  /** Launches that did not happen: their indexes are ready again, no retry used. */
  private putBack(launched: readonly { job: JobRecord; taskId: string }[]): void {
    for (const { job, taskId } of launched) {
      job.unlaunch(taskId);
      this.inFlight.forget(taskId);
      void this.save(job).catch(() => undefined);
    }
    // There is work again (the round may have suppressed offers, counting these as launched).
    if (launched.length > 0) this.gate.want();
  }

  update(driver: SchedulerDriver, status: TaskStatus): void {
    const name = this.inFlight.jobOf(status.taskId);
    const job = name === undefined ? undefined : this.jobs.get(name);
    if (!job) {
      this.acknowledge(driver, status);
      return;
    }
    // Reconciliation answers count too: a task whose end was missed ends here, and one the master
    // does not know (its launch never arrived) is launched again.
    const unknown = status.reason === 'reconciliation' && status.state === TaskState.TASK_UNKNOWN;
    if (!isGone(status.state) && !unknown) {
      this.inFlight.heard(status.taskId, this.now());
      // A task of a job that ended (its kill was lost in a failover) is killed again.
      if (job.done) void driver.kill(status.taskId, status.agentId).catch(() => undefined);
      this.acknowledge(driver, status);
      return;
    }
    this.inFlight.forget(status.taskId);
    // A preempted or evicted task (its revocable resources taken back), or one never launched, is
    // retried without using up its retries: it did not fail.
    const revoked = status.reason === RESOURCES_REVOKED_REASON;
    const uncounted = status.reason === PREEMPTED_REASON || revoked || unknown;
    const success = status.state === TaskState.TASK_FINISHED;
    const index = job.running.get(status.taskId)?.index;
    const finished = job.ended(status.taskId, success, this.now(), uncounted);
    this.metrics.taskEnds.inc({
      outcome: success ? 'succeeded' : revoked ? 'revoked' : uncounted ? 'preempted' : 'failed',
    });
    // A failure whose index neither failed for good nor ended the job runs again: a retry.
    if (!success && !uncounted && !finished && index !== undefined && !job.failed.has(index))
      this.metrics.retries.inc();
    // Acknowledged once its effect is stored: a leader that dies before that hears it again.
    this.save(job).then(
      () => {
        this.acknowledge(driver, status);
      },
      () => undefined,
    );
    if (finished) {
      this.log.info({ job: job.spec.name, state: BatchJobState[job.state] }, 'batch job finished');
      this.release(job);
      this.publishEnd(job);
    } else if (job.launchable(this.now(), MAX_RUNNING_PER_JOB) > 0) this.gate.want();
    // Otherwise the freed resources are of no use yet: a job whose other indexes all run asks for
    // none (a REVIVE per end was a REVIVE, an offer, a DECLINE and a SUPPRESS per task in the last
    // wave of a burst), and a retry in backoff is revived by the tick once it is due.
  }

  /** Acknowledges an update that carries a uuid (reconciliation answers carry none). */
  private acknowledge(driver: SchedulerDriver, status: TaskStatus): void {
    if (status.uuid === '') return;
    void driver.acknowledge(status).catch((error: unknown) => {
      this.log.debug({ task: status.taskId, err: String(error) }, 'acknowledgement failed; the update will come again');
    });
  }

  private save(job: JobRecord): Promise<void> {
    return this.store.save(job.spec.name, () => job.toStored());
  }

  /**
   * Asks the master about live tasks it has said nothing of for a while (Mesos' advice: reconcile
   * periodically), so that a missed end or a launch that never arrived cannot stall a job.
   */
  private reconcileSilent(now: number): void {
    if (!this.driver) return;
    const silent = this.inFlight.silent(now);
    if (silent.length > 0)
      void this.driver.reconcile(silent).catch((error: unknown) => {
        this.log.warn({ err: String(error), tasks: silent.length }, 'reconciliation failed; it is tried again');
      });
  }

  private job(name: string): JobRecord {
    const job = this.jobs.get(name);
    if (!job) throw new GalaxyError('GALAXY_E_TASK_UNKNOWN', `no batch job named "${name.slice(0, 100)}"`);
    return job;
  }

  /**
   * Finished jobs that are not cron runs are forgotten (in memory and in the store) once past their
   * retention, and beyond the most kept the oldest go first (`sdk/finished-jobs.ts`): stored jobs
   * must not grow without bound. Looked at once a second, as removals take a store write.
   */
  private forgetFinished(now: number): void {
    if (now - this.lastCollect < 1_000) return;
    this.lastCollect = now;
    const finished = [...this.jobs.values()]
      .filter((job) => job.done && job.running.size === 0 && !job.origin)
      .map((job) => ({ name: job.spec.name, finishedAt: job.finishedAt }));
    for (const name of finishedToForget(finished, now, this.limits))
      void this.remove(name).catch((error: unknown) => {
        this.log.warn({ job: name, err: String(error) }, 'a finished job could not be forgotten');
      });
  }

  /** Deadlines, and retries whose backoff has passed. */
  private tick(): void {
    const now = this.now();
    for (const job of this.jobs.values()) {
      if (job.done || job.spec.deadlineS <= 0 || now - job.submittedAt < job.spec.deadlineS * 1000) continue;
      void this.end(job, BatchJobState.BATCH_FAILED, `deadline of ${job.spec.deadlineS} s passed`).catch(
        () => undefined,
      );
    }
    if ([...this.jobs.values()].some((j) => j.launchable(now, MAX_RUNNING_PER_JOB) > 0)) this.gate.want();
    this.reconcileSilent(now);
    this.forgetFinished(now);
    this.onTick(now);
  }
}
