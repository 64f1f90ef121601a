/**
 * The jobs the AppMaster holds: each job by name, each launched task by id, and which jobs have
 * changed since they were last stored. Every module of the AppMaster reads and marks jobs here,
 * so a job is stored, and its held pulls answered, through one path.
 */
import { GalaxyError } from '../../core/errors.js';
import type { AppMasterHooks } from './hooks.js';
import type { JobState } from './job-state.js';
import type { Pod } from './model.js';
import type { JobStore } from './store.js';

/** The jobs, their tasks, and their unsaved changes. */
export class JobBook {
  private readonly jobs = new Map<string, JobState>();
  /** Task id → job name and pod id. */
  private readonly tasks = new Map<string, { job: string; podId: string }>();
  /** Jobs changed since they were last stored. */
  private readonly dirty = new Set<string>();

  constructor(
    private readonly store: JobStore,
    private readonly hooks: AppMasterHooks,
  ) {}

  /** How many jobs there are. */
  get size(): number {
    return this.jobs.size;
  }

  /** Holds `job`, and indexes the tasks of its launched pods. */
  add(job: JobState): void {
    this.jobs.set(job.record.name, job);
    for (const pod of job.record.pods) if (pod.taskId !== '') this.indexTask(pod.taskId, job, pod.podId);
  }

  /** Forgets the job `name` (its tasks stay indexed until they end). */
  delete(name: string): void {
    this.jobs.delete(name);
  }

  /** The job `name`, if held. */
  get(name: string): JobState | undefined {
    return this.jobs.get(name);
  }

  /** The job `name`, or GALAXY_E_JOB_UNKNOWN. */
  job(name: string): JobState {
    const job = this.jobs.get(name);
    if (!job) throw new GalaxyError('GALAXY_E_JOB_UNKNOWN', `no job named "${name.slice(0, 100)}"`);
    return job;
  }

  /** Every job, in the order they were added. */
  all(): JobState[] {
    return [...this.jobs.values()];
  }

  /** The running jobs, oldest first: the order their pods are placed in. */
  running(): JobState[] {
    return this.all()
      .filter((j) => j.record.state === 'running')
      .sort((a, b) => a.record.submittedAt - b.record.submittedAt);
  }

  /** `taskId` is the container of `job`'s pod `podId`. */
  indexTask(taskId: string, job: JobState, podId: string): void {
    this.tasks.set(taskId, { job: job.record.name, podId });
  }

  /** `taskId` is gone (or was never launched). */
  forgetTask(taskId: string): void {
    this.tasks.delete(taskId);
  }

  /** Whose container `taskId` is: its job and pod, when both are still held and the pod still runs it. */
  podOfTask(taskId: string): { job: JobState; pod: Pod } | undefined {
    const owner = this.tasks.get(taskId);
    const job = owner && this.jobs.get(owner.job);
    const record = owner && job?.podRecord(owner.podId);
    return job && record?.taskId === taskId ? { job, pod: job.pod(record.podId) } : undefined;
  }

  /** True when `taskId` is a task of this AppMaster's (its job may be gone). */
  knowsTask(taskId: string): boolean {
    return this.tasks.has(taskId);
  }

  /** `job` changed: it is stored on the next {@link flush}. */
  touch(job: JobState): void {
    this.dirty.add(job.record.name);
  }

  /** Something `job`'s pods must hear of changed: the `jobChanged` taps run (held pulls are answered). */
  notify(job: JobState): void {
    this.hooks.jobChanged.call(job);
  }

  /** Stores `job` now (after its earlier writes) and tells its pods. */
  async save(job: JobState): Promise<void> {
    this.dirty.delete(job.record.name);
    this.notify(job);
    await this.store.save(job.record);
  }

  /** Stores every changed job, without waiting for the writes. */
  flush(): void {
    for (const name of this.dirty) {
      const job = this.jobs.get(name);
      if (job) void this.store.save(job.record);
    }
    this.dirty.clear();
  }
}
