/**
 * Cron jobs of the batch framework: the verbs (create, list, show, delete, suspend, resume) and the
 * runner that carries out {@link planCron}'s decisions on every tick. A run is submitted as its
 * cron job's owner, so the owner's authorities and quota are checked at each run; a refused run is
 * counted as missed, with the reason. Cron jobs are stored like batch jobs, and a new leader goes
 * on from the last scheduled time its predecessor handled (a missed run starts if within its
 * starting deadline).
 */
import { GalaxyError } from '../../../core/errors.js';
import { KeyedSerial } from '../../../core/keyed-serial.js';
import type { Logger } from '../../../core/logger.js';
import { OPEN_PRINCIPAL, type Principal } from '../../../core/auth/principal.js';
import { bandOf } from '../../../core/bands.js';
import { claimJobName, type OwnedJob } from '../../../core/tenancy/ownership.js';
import {
  BatchJobState,
  type BatchJobSpec,
  type CronJob as CronJobMessage,
  type CronSchedule,
} from '../../../proto/gen/galaxy/v1/batch.js';
import { RecordStore } from '../../sdk/records.js';
import type { JobTenancy } from '../../sdk/tenancy.js';
import type { CronOrigin, JobRecord } from '../job.js';
import { batchSpecFromProto } from '../spec/parse.js';
import type { BatchSpec } from '../spec/schema.js';
import { planCron } from './plan.js';
import { CronRecord, runName, type StoredCron } from './record.js';
import { cronTimes, type CronTimes } from './schedule.js';

/** Where cron jobs are stored. */
export const CRONS_PREFIX = '/galaxy/batch/crons';

/** Most cron jobs one framework keeps. */
export const MAX_CRON_JOBS = 1_000;

/** What the runner needs of the batch scheduler. */
export interface CronJobs {
  /** Admits and stores a run for `caller`. */
  admit(spec: BatchSpec, caller: Principal, origin: CronOrigin): Promise<JobRecord>;
  get(name: string): JobRecord | undefined;
  /** The jobs cron jobs started (their origin set). */
  cronRuns(): JobRecord[];
  end(job: JobRecord, state: BatchJobState, message: string): Promise<void>;
  remove(name: string): Promise<void>;
}

/** How a cron runner runs. */
export interface CronRunnerOptions {
  readonly jobs: CronJobs;
  readonly log: Logger;
  /** Where cron jobs are stored; default volatile. */
  readonly store?: RecordStore;
  /** Authorities; without them every caller may do everything. */
  readonly tenancy?: JobTenancy;
  /** The principal of a cron job's owner now (undefined: the user is gone); default: an admin of that name. */
  readonly principalOf?: (user: string) => Principal | undefined;
  readonly now?: () => number;
}

/** A cron job as the ownership rule sees it. */
function owned(cron: CronRecord): OwnedJob {
  return { name: cron.name, owner: cron.owner, pool: cron.spec.pool };
}

/** The cron jobs and their runs. */
export class CronRunner {
  private readonly crons = new Map<string, CronRecord>();
  private readonly times = new Map<string, CronTimes>();
  /** Work on one cron job (its verbs, its ticks) runs one at a time. */
  private readonly serial = new KeyedSerial();
  /** Cron jobs with a tick's step queued or running: a tick adds no second one. */
  private readonly stepping = new Set<string>();
  private readonly store: RecordStore;
  private readonly now: () => number;
  private running = false;

  constructor(private readonly options: CronRunnerOptions) {
    this.store = options.store ?? new RecordStore(undefined, CRONS_PREFIX, options.log);
    this.now = options.now ?? Date.now;
  }

  /** Loads the stored cron jobs and claims their records for this leader. */
  async recover(): Promise<void> {
    for (const { name, value } of await this.store.loadAll()) {
      try {
        const cron = new CronRecord(value as StoredCron);
        this.times.set(name, cronTimes(cron.schedule.cron, cron.schedule.timeZone));
        this.crons.set(name, cron);
      } catch (error) {
        this.options.log.error({ cron: name, err: String(error) }, 'a stored cron job cannot be read; skipped');
      }
    }
    this.adoptUnrecorded();
    await Promise.all([...this.crons.values()].map((cron) => this.save(cron)));
    if (this.crons.size > 0) this.options.log.info({ crons: this.crons.size }, 'cron jobs recovered');
  }

  /**
   * Takes back the runs a predecessor started but did not record (it died between storing the run
   * and storing its cron job): each becomes active again and its time handled, as in Kubernetes,
   * whose CronJob controller rebuilds its active runs from the jobs it owns. Without this, a run
   * that a later time superseded at recovery would count as missed and its job would stay forever.
   */
  private adoptUnrecorded(): void {
    for (const job of this.options.jobs.cronRuns()) {
      const origin = job.origin;
      const cron = origin && this.crons.get(origin.cron);
      if (!origin || !cron) continue;
      const name = job.spec.name;
      if (cron.active.some((r) => r.job === name) || cron.history.some((r) => r.job === name)) continue;
      cron.active.push({ job: name, scheduledAt: origin.scheduledAt });
      cron.lastScheduledAt = Math.max(cron.lastScheduledAt, origin.scheduledAt);
      this.options.log.info(
        { cron: cron.name, job: name },
        'a run started but not recorded by the last leader adopted',
      );
    }
  }

  /** Starts acting on ticks. */
  attach(): void {
    this.running = true;
  }

  /** Stops acting; resolves once every queued write has landed. */
  async detach(): Promise<void> {
    this.running = false;
    await this.store.flush();
  }

  /**
   * Creates a cron job from `spec` and `schedule` for `caller`, who needs `job:create` in its pool
   * (and its band's authority). Its name is unique among cron jobs: another user's is taken.
   */
  async create(
    spec: BatchJobSpec,
    schedule: CronSchedule,
    caller: Principal = OPEN_PRINCIPAL,
  ): Promise<CronJobMessage> {
    const validated = batchSpecFromProto(spec, schedule);
    const { schedule: parsed, ...runSpec } = validated;
    if (!parsed) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'a cron job needs a schedule');
    const name = validated.name;
    await this.options.tenancy?.authorize(caller, validated.pool, 'job:create');
    await this.options.tenancy?.authorizeBand(caller, validated.pool, bandOf(validated.band));
    return this.exclusive(name, async () => {
      const existing = this.crons.get(name);
      if (claimJobName(caller, name, existing?.owner) === 'own' && existing)
        throw new GalaxyError('GALAXY_E_JOB_DUPLICATE', `cron job ${name} exists; delete it first`);
      if (this.crons.size >= MAX_CRON_JOBS)
        throw new GalaxyError(
          'GALAXY_E_LIMIT_EXCEEDED',
          `the batch framework keeps at most ${MAX_CRON_JOBS} cron jobs: delete some (galaxy batch cron delete)`,
        );
      const now = this.now();
      const cron = new CronRecord({
        v: 1,
        spec: runSpec,
        schedule: parsed,
        owner: caller.user,
        suspended: parsed.suspend,
        createdAt: now,
        lastScheduledAt: now,
        missed: 0,
        message: '',
        active: [],
        history: [],
      });
      await this.store.create(name, cron.toStored());
      this.crons.set(name, cron);
      this.times.set(name, cronTimes(parsed.cron, parsed.timeZone));
      this.options.log.info({ cron: name, schedule: parsed.cron, owner: caller.user }, 'cron job created');
      return this.toProto(cron);
    });
  }

  /** The cron jobs the caller may show. */
  async list(caller: Principal = OPEN_PRINCIPAL): Promise<CronJobMessage[]> {
    const visible = (await this.options.tenancy?.jobFilter(caller)) ?? (() => true);
    return [...this.crons.values()].filter((c) => visible(owned(c))).map((c) => this.toProto(c));
  }

  /** One cron job (`job:list`, and `job:any` for another user's). */
  async show(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<CronJobMessage> {
    const cron = this.cron(name);
    await this.options.tenancy?.authorizeJob(caller, owned(cron), 'job:list');
    return this.toProto(cron);
  }

  /**
   * Deletes a cron job (`job:remove`, and `job:any` for another user's): its active runs are
   * cancelled and its finished runs forgotten.
   */
  async delete(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<CronJobMessage> {
    const cron = this.cron(name);
    await this.options.tenancy?.authorizeJob(caller, owned(cron), 'job:remove');
    return this.exclusive(name, async () => {
      const answer = this.toProto(cron);
      await this.store.remove(name);
      this.crons.delete(name);
      this.times.delete(name);
      for (const run of [...cron.active, ...cron.history])
        await this.options.jobs.remove(run.job).catch((error: unknown) => {
          this.options.log.warn({ job: run.job, err: String(error) }, 'a run of a deleted cron job was not removed');
        });
      this.options.log.info({ cron: name }, 'cron job deleted');
      return answer;
    });
  }

  /** Suspends (or resumes) a cron job (`job:update`, and `job:any` for another user's). */
  async suspend(name: string, suspend: boolean, caller: Principal = OPEN_PRINCIPAL): Promise<CronJobMessage> {
    const cron = this.cron(name);
    await this.options.tenancy?.authorizeJob(caller, owned(cron), 'job:update');
    return this.exclusive(name, async () => {
      if (cron.suspended !== suspend) {
        const before = cron.suspended;
        cron.suspended = suspend;
        await this.save(cron).catch((error: unknown) => {
          cron.suspended = before;
          throw error;
        });
      }
      return this.toProto(cron);
    });
  }

  /** Moves every cron job along: finished runs into its history, then what {@link planCron} decides. */
  tick(now = this.now()): void {
    if (!this.running) return;
    for (const cron of this.crons.values()) {
      if (this.stepping.has(cron.name)) continue;
      this.stepping.add(cron.name);
      void this.exclusive(cron.name, () => this.step(cron, now))
        .catch((error: unknown) => {
          this.options.log.warn({ cron: cron.name, err: String(error) }, 'a cron job step failed; it is tried again');
        })
        .finally(() => this.stepping.delete(cron.name));
    }
  }

  private async step(cron: CronRecord, now: number): Promise<void> {
    if (this.crons.get(cron.name) !== cron) return; // deleted meanwhile
    const dropped = cron.settle((job) => {
      const run = this.options.jobs.get(job);
      return run && { state: run.state, message: run.message, done: run.done };
    });
    if (dropped) {
      await this.save(cron);
      for (const run of dropped) await this.options.jobs.remove(run.job);
    }
    const times = this.times.get(cron.name);
    if (!times) return;
    const decision = planCron(cron.planState(), times, now);
    if (decision.kind === 'idle' || decision.kind === 'wait') return;
    cron.missed += decision.superseded;
    const at = new Date(decision.scheduledAt).toISOString();
    if (decision.kind === 'miss') {
      cron.missed += 1;
      cron.message = `the run of ${at} missed its starting deadline`;
    } else {
      if (decision.replace)
        for (const run of cron.active) {
          const job = this.options.jobs.get(run.job);
          if (job && !job.done)
            await this.options.jobs.end(job, BatchJobState.BATCH_CANCELLED, `replaced by the run of ${at}`);
        }
      await this.start(cron, decision.scheduledAt, at);
    }
    cron.lastScheduledAt = decision.scheduledAt;
    await this.save(cron);
  }

  /** Starts (or, after a failover, finds) the run of `scheduledAt`; a refusal is recorded as a miss. */
  private async start(cron: CronRecord, scheduledAt: number, at: string): Promise<void> {
    const name = runName(cron.name, scheduledAt);
    const existing = this.options.jobs.get(name);
    if (existing?.origin?.cron === cron.name && existing.origin.scheduledAt === scheduledAt) {
      if (!cron.active.some((r) => r.job === name)) cron.active.push({ job: name, scheduledAt });
      return;
    }
    const owner = this.principalOf(cron.owner);
    try {
      if (!owner) throw new GalaxyError('GALAXY_E_USER_UNKNOWN', `the owner ${cron.owner} is no longer a user`);
      await this.options.jobs.admit({ ...cron.spec, name }, owner, { cron: cron.name, scheduledAt });
      cron.active.push({ job: name, scheduledAt });
      cron.message = '';
      this.options.log.info({ cron: cron.name, job: name }, 'cron run started');
    } catch (error) {
      cron.missed += 1;
      cron.message = `the run of ${at} was not started: ${error instanceof GalaxyError ? error.message : String(error)}`;
      this.options.log.warn({ cron: cron.name, err: cron.message }, 'cron run refused');
    }
  }

  private principalOf(user: string): Principal | undefined {
    return this.options.principalOf
      ? this.options.principalOf(user)
      : { user, admin: OPEN_PRINCIPAL.admin, kind: 'user' };
  }

  private toProto(cron: CronRecord): CronJobMessage {
    const next = this.times.get(cron.name)?.next(Math.max(this.now(), cron.lastScheduledAt));
    return cron.toProto(next, (job) => this.options.jobs.get(job)?.state);
  }

  private cron(name: string): CronRecord {
    const cron = this.crons.get(name);
    if (!cron) throw new GalaxyError('GALAXY_E_JOB_UNKNOWN', `no cron job named "${name.slice(0, 100)}"`);
    return cron;
  }

  private save(cron: CronRecord): Promise<void> {
    return this.store.save(cron.name, () => cron.toStored());
  }

  /** Runs `work` once every earlier work on cron job `name` has settled. */
  private exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.serial.run(name, work);
  }
}
