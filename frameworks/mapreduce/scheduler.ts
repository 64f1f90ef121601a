/**
 * The MapReduce framework's scheduler: spreads the map and reduce tasks of each job over the
 * offered agents (one port each), polls every live task's address to learn when it is ready,
 * collects each reduce's output over the network, re-runs a map that is lost while a reduce still
 * needs it, and kills what is left once a job ends. Every job is stored ({@link RecordStore}): a
 * submit answers once it is, a launch is stored before the ACCEPT, and every change of a slot
 * after it happens. A new leader loads the jobs, reconciles their live tasks with the master, and
 * goes on polling them: a map that still serves is kept, one that is gone is run again.
 */
import { randomBytes } from 'node:crypto';
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import type { JobTenancy } from '../sdk/tenancy.js';
import { OwnerRoles } from '../sdk/owner-roles.js';
import { mkdir } from 'node:fs/promises';
import { claimJobName, type OwnedJob } from '../../core/tenancy/ownership.js';
import { GalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { isGone, stateName } from '../../core/task-state.js';
import { TaskState, type Offer, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { MapReduceJobState, type MapReduceJob, type MapReduceJobSpec } from '../../proto/gen/galaxy/v1/mapreduce.js';
import { OfferGate } from '../sdk/offer-gate.js';
import { finishedToForget } from '../sdk/finished-jobs.js';
import { EventPublisher } from '../sdk/event-publisher.js';
import { endedEvent, submittedEvent } from './job-events.js';
import type { SchedulerDriver } from '../sdk/driver.js';
import type { Scheduler } from '../sdk/scheduler.js';
import { RecordStore } from '../sdk/records.js';
import { MapReduceRun, type Slot, type StoredMapReduceRun } from './job.js';
import { normalizeMapReduceSpec, splitInputDir } from './spec.js';
import { planLaunches } from './launch-plan.js';
import { slotTaskInfo } from './task-info.js';
import { collectOutput, workerStatus } from './worker-client.js';

/** How often live tasks are polled. */
const POLL_MS = 250;
/** Unanswered polls in a row after which a ready task counts as lost. */
const MAX_MISSED_POLLS = 4;

/** The pool MapReduce jobs run in (their authorities apply there). */
const MAPREDUCE_POOL = 'default';

/** Where MapReduce jobs are stored. */
export const MAPREDUCE_JOBS_PREFIX = '/galaxy/mapreduce/jobs';

/** Jobs and their tasks. */
export class MapReduceScheduler implements Scheduler {
  private readonly jobs = new Map<string, MapReduceRun>();
  /** Task id → its job and slot (current attempts only). */
  private readonly owners = new Map<string, { job: MapReduceRun; slot: Slot }>();
  private driver: SchedulerDriver | undefined;
  private readonly gate = new OfferGate();
  private timer?: NodeJS.Timeout;
  private polling = false;

  /** Authorities; without them (no coordinator) callers may do everything. */
  private tenancy: JobTenancy | undefined;
  /** Each job's tasks run in its owner's role: the framework holds the roles of its live jobs' owners. */
  readonly roles: OwnerRoles;
  /** Jobs that ended (their role was released). */
  private readonly ended = new WeakSet<MapReduceRun>();
  private readonly store: RecordStore;
  /** Job events for the master's event log (submitted, and how each job ended). */
  readonly events: EventPublisher;

  constructor(
    private readonly log: Logger,
    /** Where jobs are stored; default volatile. */
    store?: RecordStore,
  ) {
    this.roles = new OwnerRoles(log);
    this.store = store ?? new RecordStore(undefined, MAPREDUCE_JOBS_PREFIX, log);
    this.events = new EventPublisher(() => this.driver, log);
  }

  /** Loads the stored jobs (before subscribing) and claims their records for this leader. */
  async recover(): Promise<void> {
    for (const { name, value } of await this.store.loadAll()) {
      let job: MapReduceRun;
      try {
        job = MapReduceRun.fromStored(value as StoredMapReduceRun);
      } catch (error) {
        this.log.error({ job: name, err: String(error) }, 'a stored mapreduce job cannot be read; skipped');
        continue;
      }
      this.jobs.set(name, job);
      if (job.done) {
        this.ended.add(job);
        continue;
      }
      this.roles.adopt(job.owner);
      for (const slot of job.live()) this.owners.set(slot.taskId, { job, slot });
    }
    await Promise.all([...this.jobs.values()].filter((j) => !j.done).map((j) => this.save(j)));
    if (this.jobs.size > 0) this.log.info({ jobs: this.jobs.size }, 'mapreduce jobs recovered');
  }

  /** Stores `job` as it is when the write happens. */
  private save(job: MapReduceRun): Promise<void> {
    return this.store.save(job.spec.name, () => job.toStored());
  }

  /** Stores `job` without waiting; a failure is logged by the store and the next change writes again. */
  private saveLater(job: MapReduceRun): void {
    void this.save(job).catch(() => undefined);
  }

  /** Checks authorities through `tenancy` from now on (set before the API serves). */
  useTenancy(tenancy: JobTenancy): void {
    this.tenancy = tenancy;
  }

  /** Called once the driver is subscribed. */
  attach(driver: SchedulerDriver): void {
    this.driver = driver;
    this.gate.attach(driver);
    this.roles.attach(driver);
    this.timer = setInterval(() => {
      if (this.polling) return;
      this.polling = true;
      void this.poll().finally(() => (this.polling = false));
    }, POLL_MS);
    this.timer.unref();
  }

  /**
   * Stops polling. Stored jobs go on under the next leader (their tasks survive the framework's
   * failover timeout); without a store they are cancelled and their tasks killed.
   */
  async detach(): Promise<void> {
    clearInterval(this.timer);
    if (!this.store.durable)
      for (const job of this.jobs.values())
        if (!job.done) this.end(job, MapReduceJobState.MAPREDUCE_CANCELLED, 'the framework stopped');
    await this.events.close();
    this.driver = undefined;
    await this.store.flush();
  }

  subscribed(driver: SchedulerDriver): void {
    this.gate.reset();
    // Explicit reconciliation of every task in flight (after a failover: the last leader's).
    const inFlight = [...this.owners.entries()].map(([taskId, { slot }]) => ({ taskId, agentId: slot.agentId }));
    if (inFlight.length === 0) return;
    this.log.info({ tasks: inFlight.length }, 'reconciling the tasks in flight with the master');
    void driver.reconcile(inFlight).catch((error: unknown) => {
      this.log.warn({ err: String(error) }, 'reconciliation failed; polls still find lost tasks');
    });
  }

  /**
   * Admits a job (the caller needs `job:create` in pool `default`, checked before anything is
   * read or made): lists and splits its input, creates its output directory. A name another
   * user's job holds (finished or not) is taken; the caller's own live job of that name is refused.
   */
  async submit(spec: MapReduceJobSpec, caller: Principal = OPEN_PRINCIPAL): Promise<MapReduceJob> {
    const normalized = normalizeMapReduceSpec(spec);
    await this.tenancy?.authorize(caller, MAPREDUCE_POOL, 'job:create');
    const free = () => {
      const existing = this.jobs.get(normalized.name);
      if (claimJobName(caller, normalized.name, existing?.owner) === 'own' && existing?.done === false)
        throw new GalaxyError('GALAXY_E_JOB_DUPLICATE', `mapreduce job ${normalized.name} is still running`);
    };
    free();
    const splits = await splitInputDir(normalized.input, normalized.maps);
    free(); // another submit of the name may have come in meanwhile
    const job = new MapReduceRun(normalized, splits, Date.now(), caller.user, randomBytes(4).toString('hex'));
    await this.roles.hold(caller.user);
    try {
      // Stored before it exists anywhere else; a refusal (too large, the coordinator down) leaves nothing.
      await this.store.create(normalized.name, job.toStored());
      await mkdir(normalized.output, { recursive: true }).catch(async (error: unknown) => {
        await this.store.remove(normalized.name).catch(() => undefined);
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `mapreduce job output: cannot create ${normalized.output}: ${(error as Error).message}`,
        );
      });
    } catch (error) {
      this.roles.release(caller.user);
      throw error;
    }
    const replaced = this.jobs.get(normalized.name);
    if (replaced) for (const slot of replaced.live()) this.owners.delete(slot.taskId);
    this.jobs.set(normalized.name, job);
    this.log.info(
      { job: normalized.name, maps: normalized.maps, reduces: normalized.reduces },
      'mapreduce job submitted',
    );
    this.events.publish(submittedEvent(job, this.ownerOf(job), caller.user));
    this.gate.want();
    return job.toProto();
  }

  /** One job (needs `job:list`, and `job:any` for another user's). */
  async show(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<MapReduceJob> {
    const job = this.job(name);
    await this.tenancy?.authorizeJob(caller, this.owned(name), 'job:list');
    return job.toProto();
  }

  /** Cancels a job (needs `job:remove`, and `job:any` for another user's): kills what runs. */
  async cancel(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<MapReduceJob> {
    const job = this.job(name);
    await this.tenancy?.authorizeJob(caller, this.owned(name), 'job:remove');
    if (!job.done) {
      this.end(job, MapReduceJobState.MAPREDUCE_CANCELLED, 'cancelled', caller.user);
      await this.save(job);
    }
    return job.toProto();
  }

  /** Job `name` as the ownership rule sees it. */
  private owned(name: string): OwnedJob {
    return { name, owner: this.jobs.get(name)?.owner ?? OPEN_PRINCIPAL.user, pool: MAPREDUCE_POOL };
  }

  async offers(driver: SchedulerDriver, offers: Offer[]): Promise<void> {
    const round = this.gate.round();
    const wanted = [...this.jobs.values()].flatMap((job) => job.launchable().map((slot) => ({ job, slot })));
    const planned = offers.map(() => [] as { job: MapReduceRun; slot: Slot; task: TaskInfo }[]);
    for (const launch of planLaunches(wanted, offers, (job) => this.ownerOf(job))) {
      const { job, slot, agentId, resources, port } = launch;
      const taskId = job.launch(slot, agentId, launch.address);
      const task = slotTaskInfo(job, slot, { taskId, agentId, resources, port, owner: this.ownerOf(job) });
      planned[launch.offer]?.push({ job, slot, task });
      this.owners.set(taskId, { job, slot });
    }
    // Write-ahead: the launches are stored before the master hears of them.
    const touched = [...new Set(planned.flat().map((t) => t.job))];
    const stored = await Promise.all(
      touched.map((job) =>
        this.save(job).then(
          () => true,
          () => false,
        ),
      ),
    );
    const unstored = new Set(touched.filter((_, i) => !stored[i]));
    await Promise.all(
      offers.map(async (offer, i) => {
        const tasks = planned[i] ?? [];
        if (tasks.some((t) => unstored.has(t.job))) {
          for (const { job, slot } of tasks) {
            this.owners.delete(slot.taskId);
            job.unlaunch(slot);
            this.saveLater(job);
          }
          return driver.decline([offer.id], { refuseSeconds: 1 }).catch(() => undefined);
        }
        if (tasks.length === 0) return driver.decline([offer.id], { refuseSeconds: 1 });
        try {
          await driver.launch(
            [offer.id],
            tasks.map((t) => t.task),
            { refuseSeconds: 0 },
          );
        } catch (error) {
          this.log.warn({ err: String(error) }, 'launch refused; the tasks wait for another offer');
          for (const { job, slot } of tasks) {
            this.owners.delete(slot.taskId);
            job.unlaunch(slot);
            this.saveLater(job);
          }
        }
      }),
    );
    // Work that arrived while this round planned was REVIVEd before its DECLINEs: REVIVE again.
    this.gate.declined(round);
    // Not awaited: a SUPPRESS's answer must not hold up the next events (the gate keeps them in order).
    if (![...this.jobs.values()].some((j) => j.launchable().length > 0)) void this.gate.suppress();
  }

  update(_driver: SchedulerDriver, status: TaskStatus): void {
    // A reconciliation answer counts when the task is gone, or the master never saw it.
    const unknown = status.reason === 'reconciliation' && status.state === TaskState.TASK_UNKNOWN;
    if (!isGone(status.state) && !unknown) return;
    const owner = this.owners.get(status.taskId);
    if (!owner) return;
    this.owners.delete(status.taskId);
    const why = `task ${status.taskId} ${stateName(status.state)}${status.message ? `: ${status.message}` : ''}`;
    this.lost(owner.job, owner.slot, why);
  }

  /** A slot's attempt is lost: run it again, or end the job when it ran out of attempts. */
  private lost(job: MapReduceRun, slot: Slot, why: string): void {
    const taskId = slot.taskId;
    const again = job.lost(slot, why, Date.now());
    this.log.warn({ job: job.spec.name, task: taskId, again }, `${slot.kind} ${slot.index} lost: ${why}`);
    this.owners.delete(taskId);
    void this.driver?.kill(taskId).catch(() => undefined);
    if (again) this.gate.want();
    else if (job.done) this.end(job, job.state, job.message);
    this.saveLater(job);
  }

  /** Ends a job: kills every task it still runs; its owner's role goes unless another job holds it. */
  private end(job: MapReduceRun, state: MapReduceJobState, message: string, actor?: string): void {
    const first = !this.ended.has(job);
    if (first) {
      this.ended.add(job);
      this.roles.release(this.ownerOf(job));
    }
    if (!job.done || job.state !== state) job.finish(state, message, Date.now());
    const event = first ? endedEvent(job, this.ownerOf(job), actor) : undefined;
    if (event) this.events.publish(event);
    for (const slot of job.live()) {
      this.owners.delete(slot.taskId);
      void this.driver?.kill(slot.taskId).catch(() => undefined);
    }
    this.log.info({ job: job.spec.name, state: MapReduceJobState[state] }, 'mapreduce job ended');
  }

  /** Asks every live task whether it is ready; collects reduce outputs; catches silent maps. */
  private async poll(): Promise<void> {
    this.forgetFinished(Date.now());
    const live = [...this.jobs.values()]
      .filter((j) => !j.done)
      .flatMap((job) => job.live().map((slot) => ({ job, slot })));
    await Promise.all(live.map(({ job, slot }) => this.pollOne(job, slot)));
  }

  /**
   * Finished jobs past their retention, or beyond the most kept, are forgotten (sdk/finished-jobs.ts),
   * here and in the store: stored jobs must not grow with every job ever run.
   */
  private forgetFinished(now: number): void {
    const finished = [...this.jobs.values()]
      .filter((job) => job.done)
      .map((job) => ({ name: job.spec.name, finishedAt: job.finishedAt }));
    for (const name of finishedToForget(finished, now)) {
      this.jobs.delete(name);
      void this.store.remove(name).catch((error: unknown) => {
        // Left in the store: the next leader loads it and forgets it again.
        this.log.warn({ job: name, err: String(error) }, 'a finished mapreduce job could not be forgotten');
      });
    }
  }

  private async pollOne(job: MapReduceRun, slot: Slot): Promise<void> {
    const taskId = slot.taskId;
    /** False once the slot moved on (lost, re-run) or the job ended while we waited. */
    const current = (): boolean => slot.taskId === taskId && !job.done;
    const status = await workerStatus(slot.address);
    if (!current()) return;
    if (!status || status.taskId !== taskId) {
      // Not up yet while launched; a ready map that stops answering is lost (its host may be cut off).
      if (slot.state === 'ready' && ++slot.missedPolls >= MAX_MISSED_POLLS)
        this.lost(job, slot, `${slot.address} stopped answering`);
      return;
    }
    slot.missedPolls = 0;
    if (!status.ready || slot.state !== 'launched') return;
    if (slot.kind === 'map') {
      job.mapReady(slot);
      this.saveLater(job);
      this.log.info({ job: job.spec.name, map: slot.index, address: slot.address }, 'map ready');
      if (job.mapsReady) this.gate.want();
      return;
    }
    try {
      const file = await collectOutput(slot.address, job.spec.output, slot.index);
      if (!current()) return;
      this.owners.delete(taskId);
      void this.driver?.kill(taskId).catch(() => undefined);
      if (job.reduceDone(slot, file, status.words, status.total, Date.now())) this.end(job, job.state, '');
      this.saveLater(job);
    } catch (error) {
      this.log.warn({ task: taskId, err: String(error) }, 'collecting a reduce output failed; trying again');
    }
  }

  /** Who submitted a job: its tasks run in that user's role. */
  private ownerOf(job: MapReduceRun): string {
    return job.owner === '' ? OPEN_PRINCIPAL.user : job.owner;
  }

  private job(name: string): MapReduceRun {
    const job = this.jobs.get(name);
    if (!job) throw new GalaxyError('GALAXY_E_JOB_UNKNOWN', `no mapreduce job named "${name.slice(0, 100)}"`);
    return job;
  }
}
