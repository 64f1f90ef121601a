/**
 * The batch framework's scheduler: packs ready tasks of the oldest jobs into each offer (within
 * each job's parallelism), retries failures with exponential backoff, enforces deadlines, and
 * suppresses offers while nothing is waiting.
 */
import { GalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { addResources, containsResources, emptyResources } from '../../core/resources.js';
import { isGone } from '../../core/task-state.js';
import { TaskState, type Offer, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { BatchJobState, type BatchJob, type BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import type { Scheduler } from '../sdk/scheduler.js';
import { OfferGate } from '../sdk/offer-gate.js';
import { footprintOf, userLabel, type JobTenancy } from '../sdk/tenancy.js';
import { offerFits, OwnerRoles } from '../sdk/owner-roles.js';
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import { claimJobName, type OwnedJob } from '../../core/tenancy/ownership.js';
import { JobRecord } from './job.js';
import { bandOf, PREEMPTED_REASON } from '../../core/bands.js';
import { normalizeSpec } from './spec.js';
import { checkCompletions, DEFAULT_BATCH_LIMITS, type BatchLimits } from './limits.js';
import { finishedToForget } from '../sdk/finished-jobs.js';

/** A job as the ownership rule sees it. */
function owned(job: JobRecord): OwnedJob {
  return { name: job.spec.name, owner: job.owner, pool: job.spec.pool };
}

/** A live task silent this long (ms) is reconciled… */
const SILENT_MS = 15_000;
/** …at most this often (ms)… */
const RECONCILE_EVERY_MS = 5_000;
/** …this many at a time. */
const RECONCILE_BATCH = 1_000;

/** Jobs and their tasks. */
export class BatchScheduler implements Scheduler {
  private readonly jobs = new Map<string, JobRecord>();
  /** Task id → job name. */
  private readonly owners = new Map<string, string>();
  /** Live task id → its agent and when the master last said anything of it (ms). */
  private readonly heard = new Map<string, { agentId: string; at: number }>();
  private lastReconcile = 0;
  private driver: SchedulerDriver | undefined;
  private readonly gate = new OfferGate();
  private timer?: NodeJS.Timeout;
  /** Jobs whose submit is being authorized and admitted, by name. */
  private readonly admitting = new Map<string, { owner: string; completions: number }>();

  /** Authorities and quotas; without them (no coordinator) callers may do everything, unmetered. */
  private tenancy: JobTenancy | undefined;
  /** Each job's tasks run in its owner's role: the framework holds the roles of its live jobs' owners. */
  readonly roles: OwnerRoles;

  constructor(
    private readonly log: Logger,
    private readonly limits: BatchLimits = DEFAULT_BATCH_LIMITS,
  ) {
    this.roles = new OwnerRoles(log);
  }

  /** Checks authorities and admits quotas through `tenancy` from now on (set before the API serves). */
  useTenancy(tenancy: JobTenancy): void {
    this.tenancy = tenancy;
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

  /** Stops the timers. */
  detach(): void {
    clearInterval(this.timer);
  }

  /**
   * Admits a job: the caller needs `job:create` on its pool (and its band's authority, though the
   * batch bands need none), and parallelism × per-task resources must fit the caller's quota (the
   * claim is released when the job ends); the framework then holds the caller's role, where the
   * job's tasks run. A name another user's job holds (finished or not) is taken; the caller's own
   * live job of the same name is refused, a finished one replaced. A refusal changes nothing.
   */
  async submit(spec: BatchJobSpec, caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob> {
    const normalized = normalizeSpec(spec);
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
      await this.roles.hold(caller.user).catch(async (error: unknown) => {
        await this.tenancy?.release(caller.user, name);
        throw error;
      });
    } finally {
      this.admitting.delete(name);
    }
    const job = new JobRecord(normalized, Date.now(), caller.user);
    this.jobs.set(name, job);
    this.log.info({ job: name, completions: normalized.completions, owner: caller.user }, 'batch job submitted');
    this.gate.want();
    return job.toProto();
  }

  /** The jobs the caller may show (`job:list`; others' jobs also `job:any`), oldest first. */
  async list(caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob[]> {
    const visible = (await this.tenancy?.jobFilter(caller)) ?? (() => true);
    return [...this.jobs.values()].filter((j) => visible(owned(j))).map((j) => j.toProto());
  }

  /** One job; needs `job:list` on its pool (and `job:any` for another user's). */
  async show(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob> {
    const job = this.job(name);
    await this.tenancy?.authorizeJob(caller, owned(job), 'job:list');
    return job.toProto();
  }

  /** Cancels a job (needs `job:remove`, as it ends the job, and `job:any` for another user's): kills what runs, launches nothing more. */
  async cancel(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<BatchJob> {
    const job = this.job(name);
    await this.tenancy?.authorizeJob(caller, owned(job), 'job:remove');
    if (!job.done) {
      job.finish(BatchJobState.BATCH_CANCELLED, 'cancelled', Date.now());
      for (const taskId of job.running.keys()) void this.driver?.kill(taskId).catch(() => undefined);
      this.release(job);
    }
    return job.toProto();
  }

  /** The job ended: its owner's claim goes, and the owner's role unless another job holds it. */
  private release(job: JobRecord): void {
    this.roles.release(job.owner);
    void this.tenancy?.release(job.owner, job.spec.name).catch((error: unknown) => {
      this.log.warn({ job: job.spec.name, err: String(error) }, 'quota claim not released');
    });
  }

  async offers(driver: SchedulerDriver, offers: Offer[]): Promise<void> {
    const now = Date.now();
    const open = [...this.jobs.values()].filter((j) => j.launchable(now) > 0);
    for (const offer of offers) {
      const tasks: TaskInfo[] = [];
      const launched: { job: JobRecord; taskId: string }[] = [];
      let used = emptyResources();
      for (const job of open) {
        if (job.spec.pool !== offer.pool || !offerFits(offer, job.owner)) continue;
        const perTask = job.spec.resources ?? emptyResources();
        let room = job.launchable(now);
        while (room > 0 && offer.resources && containsResources(offer.resources, addResources(used, perTask))) {
          const next = job.launch((index, attempt) => `${job.spec.name}.${index}.${attempt}`);
          if (!next) break;
          used = addResources(used, perTask);
          room -= 1;
          launched.push({ job, taskId: next.taskId });
          this.owners.set(next.taskId, job.spec.name);
          this.heard.set(next.taskId, { agentId: offer.agentId, at: now });
          tasks.push(this.taskInfo(job, next.taskId, next.index, offer.agentId));
        }
      }
      if (tasks.length === 0) {
        await driver.decline([offer.id], { refuseSeconds: 1 });
        continue;
      }
      try {
        await driver.launch([offer.id], tasks, { refuseSeconds: 0 });
      } catch (error) {
        if (error instanceof GalaxyError && error.code === 'GALAXY_E_UNAVAILABLE') {
          // The call timed out or the link broke: the master may have launched them. Whether it
          // did is asked at once by reconciliation; a task it does not know is launched again.
          this.log.warn({ err: String(error) }, 'launch outcome unknown; reconciling its tasks');
          for (const { taskId } of launched) this.markSilent(taskId);
          continue;
        }
        this.log.warn({ err: String(error) }, 'launch refused; the tasks wait for another offer');
        for (const { job, taskId } of launched) {
          job.unlaunch(taskId);
          this.forget(taskId);
        }
      }
    }
    if (![...this.jobs.values()].some((j) => j.launchable(now) > 0)) await this.gate.suppress();
  }

  update(_driver: SchedulerDriver, status: TaskStatus): void {
    const name = this.owners.get(status.taskId);
    const job = name === undefined ? undefined : this.jobs.get(name);
    if (!job) return;
    // Reconciliation answers count too: a task whose end was missed ends here, and one the master
    // does not know (its launch never arrived) is launched again.
    const unknown = status.reason === 'reconciliation' && status.state === TaskState.TASK_UNKNOWN;
    if (!isGone(status.state) && !unknown) {
      const heard = this.heard.get(status.taskId);
      if (heard) heard.at = Date.now();
      return;
    }
    this.forget(status.taskId);
    // A preempted task, or one never launched, is retried without using up its retries: it did not fail.
    const uncounted = status.reason === PREEMPTED_REASON || unknown;
    const finished = job.ended(status.taskId, status.state === TaskState.TASK_FINISHED, Date.now(), uncounted);
    if (finished) {
      this.log.info({ job: job.spec.name, state: BatchJobState[job.state] }, 'batch job finished');
      this.release(job);
    } else this.gate.want();
  }

  private forget(taskId: string): void {
    this.owners.delete(taskId);
    this.heard.delete(taskId);
  }

  private markSilent(taskId: string): void {
    const heard = this.heard.get(taskId);
    if (heard) heard.at = 0;
    this.lastReconcile = 0;
  }

  /**
   * Asks the master about live tasks it has said nothing of for a while (Mesos' advice: reconcile
   * periodically), so that a missed end or a launch that never arrived cannot stall a job.
   */
  private reconcileSilent(now: number): void {
    if (!this.driver || now - this.lastReconcile < RECONCILE_EVERY_MS) return;
    this.lastReconcile = now;
    const silent: { taskId: string; agentId: string }[] = [];
    for (const [taskId, heard] of this.heard) {
      if (now - heard.at >= SILENT_MS) silent.push({ taskId, agentId: heard.agentId });
      if (silent.length >= RECONCILE_BATCH) break;
    }
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

  private taskInfo(job: JobRecord, taskId: string, index: number, agentId: string): TaskInfo {
    return {
      taskId,
      name: `${job.spec.name}[${index}]`,
      agentId,
      resources: job.spec.resources,
      command: {
        shell: job.spec.command,
        argv: [],
        env: { GALAXY_COMPLETION_INDEX: String(index), GALAXY_JOB: job.spec.name },
        user: '',
      },
      labels: [{ key: 'band', value: job.spec.band }, userLabel(job.owner)],
      band: bandOf(job.spec.band),
      // Best-effort work is the first to go when higher bands need room.
      revocable: job.spec.band === 'best-effort',
      killGraceS: 3,
      limits: job.spec.limits,
      volumes: job.spec.volumes,
    };
  }

  /** Deadlines, and retries whose backoff has passed. */
  private tick(): void {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      if (job.done || job.spec.deadlineS <= 0 || now - job.submittedAt < job.spec.deadlineS * 1000) continue;
      job.finish(BatchJobState.BATCH_FAILED, `deadline of ${job.spec.deadlineS} s passed`, now);
      for (const taskId of job.running.keys()) void this.driver?.kill(taskId).catch(() => undefined);
      this.release(job);
    }
    if ([...this.jobs.values()].some((j) => j.launchable(now) > 0)) this.gate.want();
    this.reconcileSilent(now);
    this.forgetFinished(now);
  }

  /** Finished jobs past their retention, or beyond the most kept, are forgotten. */
  private forgetFinished(now: number): void {
    const finished = [...this.jobs.values()]
      .filter((job) => job.done && job.running.size === 0)
      .map((job) => ({ name: job.spec.name, finishedAt: job.finishedAt }));
    for (const name of finishedToForget(finished, now, this.limits)) this.jobs.delete(name);
  }
}
