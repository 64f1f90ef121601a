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
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import type { Scheduler } from '../sdk/scheduler.js';
import { OfferGate } from '../sdk/offer-gate.js';
import { JobRecord } from './job.js';
import { normalizeSpec } from './spec.js';

/** Jobs and their tasks. */
export class BatchScheduler implements Scheduler {
  private readonly jobs = new Map<string, JobRecord>();
  /** Task id → job name. */
  private readonly owners = new Map<string, string>();
  private driver: SchedulerDriver | undefined;
  private readonly gate = new OfferGate();
  private timer?: NodeJS.Timeout;

  constructor(private readonly log: Logger) {}

  /** Called once the driver is subscribed. */
  attach(driver: SchedulerDriver): void {
    this.driver = driver;
    this.gate.attach(driver);
    this.timer = setInterval(() => {
      this.tick();
    }, 250);
    this.timer.unref();
  }

  /** Stops the timers. */
  detach(): void {
    clearInterval(this.timer);
  }

  /** Admits a job; a live job of the same name is refused. */
  submit(spec: BatchJobSpec): BatchJob {
    const normalized = normalizeSpec(spec);
    const existing = this.jobs.get(normalized.name);
    if (existing && !existing.done)
      throw new GalaxyError('GALAXY_E_TASK_DUPLICATE', `batch job ${normalized.name} is still running`);
    const job = new JobRecord(normalized, Date.now());
    this.jobs.set(normalized.name, job);
    this.log.info({ job: normalized.name, completions: normalized.completions }, 'batch job submitted');
    this.gate.want();
    return job.toProto();
  }

  /** Every job, oldest first. */
  list(): BatchJob[] {
    return [...this.jobs.values()].map((j) => j.toProto());
  }

  /** One job. */
  show(name: string): BatchJob {
    return this.job(name).toProto();
  }

  /** Cancels a job: kills what runs, launches nothing more. */
  cancel(name: string): BatchJob {
    const job = this.job(name);
    if (!job.done) {
      job.finish(BatchJobState.BATCH_CANCELLED, 'cancelled', Date.now());
      for (const taskId of job.running.keys()) void this.driver?.kill(taskId).catch(() => undefined);
    }
    return job.toProto();
  }

  async offers(driver: SchedulerDriver, offers: Offer[]): Promise<void> {
    const now = Date.now();
    const open = [...this.jobs.values()].filter((j) => j.launchable(now) > 0);
    for (const offer of offers) {
      const tasks: TaskInfo[] = [];
      const launched: { job: JobRecord; taskId: string }[] = [];
      let used = emptyResources();
      for (const job of open) {
        const perTask = job.spec.resources ?? emptyResources();
        let room = job.launchable(now);
        while (room > 0 && offer.resources && containsResources(offer.resources, addResources(used, perTask))) {
          const next = job.launch((index, attempt) => `${job.spec.name}.${index}.${attempt}`);
          if (!next) break;
          used = addResources(used, perTask);
          room -= 1;
          launched.push({ job, taskId: next.taskId });
          this.owners.set(next.taskId, job.spec.name);
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
        this.log.warn({ err: String(error) }, 'launch refused; the tasks wait for another offer');
        for (const { job, taskId } of launched) {
          job.unlaunch(taskId);
          this.owners.delete(taskId);
        }
      }
    }
    if (![...this.jobs.values()].some((j) => j.launchable(now) > 0)) await this.gate.suppress();
  }

  update(_driver: SchedulerDriver, status: TaskStatus): void {
    if (!isGone(status.state) || status.reason === 'reconciliation') return;
    const name = this.owners.get(status.taskId);
    const job = name === undefined ? undefined : this.jobs.get(name);
    if (!job) return;
    this.owners.delete(status.taskId);
    const finished = job.ended(status.taskId, status.state === TaskState.TASK_FINISHED, Date.now());
    if (finished) this.log.info({ job: job.spec.name, state: BatchJobState[job.state] }, 'batch job finished');
    else this.gate.want();
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
      labels: [{ key: 'band', value: job.spec.band }],
      killGraceS: 3,
      limits: job.spec.limits,
      volumes: [],
    };
  }

  /** Deadlines, and retries whose backoff has passed. */
  private tick(): void {
    const now = Date.now();
    for (const job of this.jobs.values()) {
      if (job.done || job.spec.deadlineS <= 0 || now - job.submittedAt < job.spec.deadlineS * 1000) continue;
      job.finish(BatchJobState.BATCH_FAILED, `deadline of ${job.spec.deadlineS} s passed`, now);
      for (const taskId of job.running.keys()) void this.driver?.kill(taskId).catch(() => undefined);
    }
    if ([...this.jobs.values()].some((j) => j.launchable(now) > 0)) this.gate.want();
  }
}
