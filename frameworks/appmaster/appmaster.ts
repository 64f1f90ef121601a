/**
 * The AppMaster: Galaxy's framework for long-running services. It keeps each job's pods placed
 * (offers → placement → LAUNCH of an AppWorker container), tells every AppWorker what to run when
 * it pulls, paces rolling updates, replaces failed pods, and publishes endpoints to naming.
 *
 * All state changes happen on the Node event loop in small synchronous steps, so the verbs, the
 * scheduler events, the pulls and the tick never interleave inside one step.
 */
import { randomBytes } from 'node:crypto';
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { isGone, stateName } from '../../core/task-state.js';
import type { Offer, TaskInfo, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import {
  UpdateControl,
  WorkerAction,
  type ExecResult,
  type JobStatus,
  type PullRequest,
  type PullResponse,
} from '../../proto/gen/galaxy/v1/appmaster.js';
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import type { Scheduler } from '../sdk/scheduler.js';
import { OfferGate } from '../sdk/offer-gate.js';
import { JobTenancy } from '../sdk/tenancy.js';
import { offerFits, OwnerRoles } from '../sdk/owner-roles.js';
import { nextAction } from './actions.js';
import { jobFootprint, KeyedSerial, ownedJob, ownerOf, specFootprint } from './admission.js';
import { PullHolds } from './holds.js';
import { JobState } from './job-state.js';
import { NamingPublisher } from './naming-publisher.js';
import { namingOwner } from '../sdk/naming.js';
import { claimJobName } from '../../core/tenancy/ownership.js';
import { isHealthyAtTarget, podPhase, type JobRecord, type Pod } from './model.js';
import { placePods, type PodDemand } from './placement/place.js';
import { classifyChange } from './spec/diff.js';
import { parseJobSpecJson } from './spec/parse.js';
import type { JobSpec } from './spec/schema.js';
import { jobStatus } from './status.js';
import { checkRecordFits, JobStore } from './store.js';
import { newTaskId, podTask, type WorkerLaunch } from './task.js';
import { newToken, tokenHash } from '../../core/auth/tokens.js';
import { newUpdate, planUpdate } from './update.js';
import { planDrain } from './drain.js';
import { PodPreemption } from './preemption.js';
import { authorizeContainer } from './sandbox-authority.js';
import { bandOf, PREEMPTED_REASON } from '../../core/bands.js';
import { boundResult, checkExecCommand, PendingExecs } from './exec-output.js';

/** How an AppMaster runs. */
export interface AppMasterOptions {
  readonly coordinator: Coordinator;
  readonly log: Logger;
  /** How pods start their AppWorker and where they find the AppMasters (known once the pull API listens). */
  readonly worker: () => WorkerLaunch;
  /** How often the AppWorkers pull when nothing changes. Default 3000 ms. */
  readonly pullIntervalMs?: number;
  /** The clock (tests). */
  readonly now?: () => number;
  /** Authorities and quotas; default: those stored in `coordinator`. */
  readonly tenancy?: JobTenancy;
}

/** Longest a pull is held open waiting for a change. */
const MAX_HOLD_MS = 10_000;
/** A KILL is sent again when the task still lives this long after. */
const KILL_RETRY_MS = 15_000;

/** The service framework. */
export class AppMaster implements Scheduler {
  private readonly jobs = new Map<string, JobState>();
  /** Task id → job name and pod id. */
  private readonly tasks = new Map<string, { job: string; podId: string }>();
  private readonly store: JobStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly dirty = new Set<string>();
  /** Pulls held open, per job: woken when the job changes. */
  private readonly holds = new PullHolds();
  private readonly naming: NamingPublisher;
  private driver: SchedulerDriver | undefined;
  private readonly gate = new OfferGate();
  /** Agents an operator drains: their pods move away at each job's deploy pace (drain.ts). */
  private readonly draining = new Set<string>();
  private timer?: NodeJS.Timeout;
  /** Preemption requests of pods pending for lack of resources (preemption.ts). */
  private preemption?: PodPreemption;
  private readonly tenancy: JobTenancy;
  /** A job's verbs run one at a time (admission, then change). */
  private readonly serial = new KeyedSerial();
  /** Each job's pods run in its owner's role: the AppMaster holds the roles of its jobs' owners. */
  readonly roles: OwnerRoles;
  /** Execs waiting per user and pod, bounded (exec-output.ts). */
  private readonly pendingExecs = new PendingExecs();

  constructor(private readonly options: AppMasterOptions) {
    this.tenancy = options.tenancy ?? new JobTenancy(options.coordinator, 'appmaster');
    this.store = new JobStore(options.coordinator, options.log);
    this.naming = new NamingPublisher(options.coordinator, options.log);
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.roles = new OwnerRoles(options.log);
  }

  /** Loads the stored jobs; their containers are re-adopted as the master reconciles them. */
  async recover(): Promise<void> {
    for (const record of await this.store.loadAll()) {
      const job = new JobState(record);
      this.jobs.set(record.name, job);
      this.roles.adopt(ownerOf(record));
      for (const pod of record.pods)
        if (pod.taskId !== '') this.tasks.set(pod.taskId, { job: record.name, podId: pod.podId });
    }
    if (this.jobs.size > 0) this.log.info({ jobs: this.jobs.size }, 'jobs recovered');
  }

  /** Called once the driver is subscribed: starts the tick. */
  attach(driver: SchedulerDriver): void {
    this.driver = driver;
    this.gate.attach(driver);
    this.roles.attach(driver);
    this.timer = setInterval(() => {
      this.tick();
    }, 500);
    this.timer.unref();
  }

  /** Stops the tick and releases held pulls; waits for pending writes. */
  async detach(): Promise<void> {
    clearInterval(this.timer);
    this.holds.wakeAll();
    await this.store.flush();
  }

  // ── verbs ──────────────────────────────────────────────────────────────────────────────────
  // Every verb takes its caller (OPEN_PRINCIPAL, an admin, when the server does not
  // authenticate), checks the caller's authority on the job (its pool's authorities, and
  // `job:any` for another user's job: core/tenancy/ownership.ts) and admits the job's footprint
  // to its owner's quota before it changes anything: a refusal leaves no trace.

  /**
   * Admits a new job: authorized, its name free (another user's job, or naming entries, holding
   * it make it taken), admitted to its owner's quota, stored; then its pods wait for offers.
   */
  async submit(specJson: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    const spec = parseJobSpecJson(specJson, 'spec');
    return this.serial.run(spec.name, async () => {
      const free = () => {
        const held = this.jobs.get(spec.name);
        if (claimJobName(caller, spec.name, held && ownerOf(held.record)) === 'own')
          throw new GalaxyError(
            'GALAXY_E_JOB_DUPLICATE',
            `job ${spec.name} exists; use "galaxy job update" to change it`,
          );
      };
      await this.tenancy.authorize(caller, spec.pool, 'job:create');
      await this.tenancy.authorizeBand(caller, spec.pool, bandOf(spec.band));
      await authorizeContainer(this.tenancy, caller, spec);
      free();
      claimJobName(caller, spec.name, (await namingOwner(this.options.coordinator, spec.name))?.user);
      const record: JobRecord = {
        name: spec.name,
        revision: 1,
        specs: { 1: spec },
        state: 'running',
        submittedAt: this.now(),
        update: undefined,
        pods: [],
        nextIndex: 0,
        hostFailures: {},
        owner: caller.user,
        uid: randomBytes(12).toString('hex'),
      };
      // The job must fit one coordinator key, pods included: refused now, before anything is claimed.
      const probe = new JobState(structuredClone(record)).addPod(this.now());
      checkRecordFits(record, spec.replicas, Buffer.byteLength(JSON.stringify(probe.record)));
      await this.tenancy.admit(caller.user, spec.name, specFootprint(spec));
      free();
      await this.storeNew(record, caller.user);
      // The pods run in the owner's role: the AppMaster must hold it before they are placed.
      await this.roles.hold(caller.user).catch(async (error: unknown) => {
        await this.tenancy.release(caller.user, spec.name);
        await this.store.remove(spec.name);
        throw error;
      });
      const job = new JobState(record);
      this.jobs.set(spec.name, job);
      this.reconcileReplicas(job);
      await this.save(job);
      this.log.info(
        { job: spec.name, replicas: spec.replicas, version: spec.package.version, owner: caller.user },
        'job submitted',
      );
      this.gate.want();
      return this.status(spec.name);
    });
  }

  /**
   * A new spec for a job. A change of package, commands or data rolls out in place; a change of
   * resources rolls out by replacing containers; replicas and policies apply at once. The owner's
   * claim becomes the larger of the old and the new revision, per resource.
   */
  async updateJob(specJson: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    const spec = parseJobSpecJson(specJson, 'spec');
    return this.serial.run(spec.name, async () => {
      const job = this.job(spec.name);
      const record = job.record;
      const change = classifyChange(job.spec, spec);
      const revises = change.kind !== 'none' && change.kind !== 'scale';
      const busy = () => {
        if (revises && record.update)
          throw new GalaxyError(
            'GALAXY_E_JOB_STATE',
            `job ${spec.name} is being updated to revision ${record.update.to}; continue, cancel or roll it back first`,
          );
      };
      busy();
      await this.tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      if (spec.pool !== job.spec.pool)
        await this.tenancy.authorizeJob(caller, { ...ownedJob(job), pool: spec.pool }, 'job:create');
      if (spec.pool !== job.spec.pool || bandOf(spec.band) !== bandOf(job.spec.band))
        await this.tenancy.authorizeBand(ownerPrincipal(record, caller), spec.pool, bandOf(spec.band));
      await authorizeContainer(this.tenancy, ownerPrincipal(record, caller), spec);
      await this.tenancy.admit(ownerOf(record), spec.name, jobFootprint([...Object.values(record.specs), spec]));
      busy();
      if (change.kind === 'none' || change.kind === 'scale') {
        record.specs[record.revision] = spec;
      } else {
        const next = Math.max(...Object.keys(record.specs).map(Number)) + 1;
        record.specs[next] = spec;
        record.update = newUpdate(record.revision, next, change.kind, this.now());
        record.revision = next;
        this.log.info({ job: spec.name, revision: next, kind: change.kind, fields: change.fields }, 'update started');
      }
      record.state = 'running';
      this.reconcileReplicas(job);
      this.stepUpdate(job);
      await this.save(job);
      return this.status(spec.name);
    });
  }

  /** Sets the number of pods, admitted to the owner's quota first. */
  async scale(name: string, replicas: number, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 10_000)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `replicas must be 0..10000, not ${replicas}`);
    return this.serial.run(name, async () => {
      const job = this.job(name);
      await this.tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      await this.tenancy.admit(ownerOf(job.record), name, jobFootprint(Object.values(job.record.specs), replicas));
      job.record.specs[job.record.revision] = { ...job.spec, replicas };
      job.record.state = 'running';
      this.reconcileReplicas(job);
      await this.save(job);
      return this.status(name);
    });
  }

  /** Pause, continue, roll back or cancel the job's rolling update. */
  async control(name: string, control: UpdateControl, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.job(name);
      await this.tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      const update = job.record.update;
      if (control === UpdateControl.UPDATE_ROLLBACK) {
        this.rollback(job, 'by user');
      } else {
        if (!update) throw new GalaxyError('GALAXY_E_JOB_STATE', `job ${name} has no update in progress`);
        if (control === UpdateControl.UPDATE_PAUSE) {
          update.paused = true;
          update.pausedReason = 'by user';
        } else if (control === UpdateControl.UPDATE_CONTINUE) {
          if (!update.paused) throw new GalaxyError('GALAXY_E_JOB_STATE', `the update of job ${name} is not paused`);
          if (update.pausedReason.startsWith('breakpoint')) update.breakpointPassed = true;
          if (update.pausedReason === 'max failures') update.failed = [];
          update.paused = false;
          update.pausedReason = '';
        } else if (control === UpdateControl.UPDATE_CANCEL) {
          job.record.update = undefined;
        } else {
          throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'control must be pause, continue, rollback or cancel');
        }
      }
      this.stepUpdate(job);
      await this.save(job);
      return this.status(name);
    });
  }

  /** Stops every pod; the job stays (scale or update it to run again), and so does its claim. */
  async stop(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.job(name);
      await this.tenancy.authorizeJob(caller, ownedJob(job), 'job:remove');
      job.record.state = 'stopped';
      job.record.update = undefined;
      for (const pod of job.pods()) this.retire(job, pod);
      await this.save(job);
      return this.status(name);
    });
  }

  /** Kills every pod, forgets the job and its naming entries, and releases its owner's claim. */
  async remove(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.job(name);
      await this.tenancy.authorizeJob(caller, ownedJob(job), 'job:remove');
      job.record.state = 'stopped';
      for (const pod of job.pods()) this.retire(job, pod);
      const status = this.status(name);
      this.jobs.delete(name);
      this.wake(name);
      await this.store.remove(name);
      await this.naming.withdrawJob(job.record);
      await this.tenancy.release(ownerOf(job.record), name);
      this.roles.release(ownerOf(job.record));
      this.log.info({ job: name }, 'job removed');
      return { ...status, state: 'removed' };
    });
  }

  /** Replaces one pod's container (not counted as a failure); needs `container:remove`. */
  async recoverPod(name: string, podId: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.job(name);
      await this.tenancy.authorizeJob(caller, ownedJob(job), 'container:remove');
      const pod = job.pod(podId);
      if (pod.record.taskId !== '') this.kill(pod);
      await this.save(job);
      return this.status(name);
    });
  }

  /** Runs a command in a pod through its AppWorker and waits for the result; needs `container:create`. */
  async exec(
    name: string,
    podId: string,
    command: string,
    timeoutS: number,
    caller: Principal = OPEN_PRINCIPAL,
  ): Promise<ExecResult> {
    await this.tenancy.authorizeJob(caller, ownedJob(this.job(name)), 'container:create');
    const job = this.job(name);
    const pod = job.pod(podId);
    if (command.trim() === '') throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'exec needs a command');
    checkExecCommand(command);
    if (pod.record.taskId === '' || pod.runtime.killing || pod.runtime.lastPullAt === 0)
      throw new GalaxyError('GALAXY_E_JOB_STATE', `pod ${podId} has no running AppWorker`);
    const release = this.pendingExecs.admit(caller.user, podId, pod.runtime.execs.size);
    const limit = timeoutS > 0 ? Math.min(timeoutS, 3600) : 30;
    const execId = `${podId}.${Math.random().toString(36).slice(2, 10)}`;
    return new Promise<ExecResult>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          release();
          pod.runtime.execs.delete(execId);
          reject(new GalaxyError('GALAXY_E_UNAVAILABLE', `pod ${podId}'s AppWorker did not answer the exec in time`));
        },
        (limit + 15) * 1000,
      );
      pod.runtime.execs.set(execId, {
        command,
        timeoutS: limit,
        resolve: (result) => {
          release();
          clearTimeout(timer);
          resolve(result);
        },
      });
      this.wake(name);
    });
  }

  /** The jobs the caller may show (`job:list`; others' jobs also `job:any`), oldest first. */
  async list(caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus[]> {
    const visible = await this.tenancy.jobFilter(caller);
    return [...this.jobs.values()]
      .filter((job) => visible(ownedJob(job)))
      .sort((a, b) => a.record.submittedAt - b.record.submittedAt)
      .map((job) => jobStatus(job, this.now()));
  }

  /** One job with its pods; needs `job:list` on its pool (and `job:any` for another user's). */
  async show(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    await this.tenancy.authorizeJob(caller, ownedJob(this.job(name)), 'job:list');
    return this.status(name);
  }

  private status(name: string): JobStatus {
    return jobStatus(this.job(name), this.now());
  }

  // ── AppWorker pulls ────────────────────────────────────────────────────────────────────────

  /** The pod whose current container's pull token hashes to `sha256` (the pull API authenticates with it). */
  podOfToken(sha256: string): { job: string; podId: string; owner: string } | undefined {
    for (const job of this.jobs.values()) {
      const pod = job.pods().find((p) => p.record.tokenSha256 === sha256);
      if (pod) return { job: job.record.name, podId: pod.record.podId, owner: ownerOf(job.record) };
    }
    return undefined;
  }

  /** An AppWorker's report; answered with its next action, held open while there is none. */
  async pull(request: PullRequest): Promise<PullResponse> {
    const interval = this.options.pullIntervalMs ?? 3000;
    const exit: PullResponse = {
      action: WorkerAction.ACTION_EXIT,
      revision: 0,
      templateJson: '',
      assignedPorts: {},
      execs: [],
      pullIntervalMs: interval,
      appmasters: [...this.options.worker().appmasters],
    };
    let located = this.locate(request);
    if (!located) return exit;
    this.receive(located.job, located.pod, request);
    let answer = this.answer(located.job, located.pod, interval);
    if (answer.action === WorkerAction.ACTION_NONE && answer.execs.length === 0 && request.waitMs > 0) {
      await this.holds.hold(request.job, Math.min(request.waitMs, MAX_HOLD_MS));
      located = this.locate(request);
      if (!located) return exit;
      answer = this.answer(located.job, located.pod, interval);
    }
    return answer;
  }

  private locate(request: PullRequest): { job: JobState; pod: Pod } | undefined {
    const job = this.jobs.get(request.job);
    const record = job?.record.pods.find((p) => p.podId === request.podId);
    if (!job || !record || record.taskId !== request.taskId) return undefined;
    return { job, pod: job.pod(record.podId) };
  }

  private receive(job: JobState, pod: Pod, request: PullRequest): void {
    const report = request.report;
    pod.runtime.report = report;
    pod.runtime.lastPullAt = this.now();
    for (const output of report?.execResults ?? []) {
      const pending = pod.runtime.execs.get(output.execId);
      if (!pending) continue;
      pod.runtime.execs.delete(output.execId);
      // The pod is not trusted: what it returns is bounded again before it goes to the caller.
      pending.resolve(boundResult(output.result ?? { exitCode: -1, stdout: '', stderr: 'no result' }));
    }
    const healthy = isHealthyAtTarget(pod);
    if (healthy && pod.runtime.healthySince === 0) pod.runtime.healthySince = this.now();
    if (!healthy) pod.runtime.healthySince = 0;
    this.naming.publish(job, pod);
    this.stepUpdate(job);
  }

  private answer(job: JobState, pod: Pod, interval: number): PullResponse {
    const { action, revision } = nextAction(job.record, pod);
    // Sent again on every answer until the result comes back: an answer can be lost when the
    // worker cancels a pull in flight; the worker runs each exec id once.
    const execs = [...pod.runtime.execs.entries()].map(([execId, e]) => ({
      execId,
      command: e.command,
      timeoutS: e.timeoutS,
    }));
    return {
      action,
      revision,
      templateJson: JSON.stringify(job.specOf(revision)),
      assignedPorts: pod.record.ports,
      execs,
      pullIntervalMs: interval,
      appmasters: [...this.options.worker().appmasters],
    };
  }

  /** Answers the held pulls of `name` now. */
  private wake(name: string): void {
    this.holds.wake(name);
  }

  // ── scheduler events ───────────────────────────────────────────────────────────────────────

  async offers(driver: SchedulerDriver, offers: Offer[]): Promise<void> {
    const demands: PodDemand[] = [];
    const running = [...this.jobs.values()]
      .filter((j) => j.record.state === 'running')
      .sort((a, b) => a.record.submittedAt - b.record.submittedAt);
    for (const job of running)
      for (const pod of job.pendingPods())
        demands.push({ job: job.record.name, podId: pod.record.podId, spec: job.specOf(pod.record.revision) });
    if (demands.length === 0) {
      await driver.decline(
        offers.map((o) => o.id),
        { refuseSeconds: 30 },
      );
      await this.gate.suppress();
      return;
    }
    const placement = placePods(demands, offers, {
      podsOn: (name, agentId) =>
        this.jobs
          .get(name)
          ?.pods()
          .filter((p) => p.record.agentId === agentId && p.record.taskId !== '' && !p.runtime.removing).length ?? 0,
      blacklisted: (name, hostname) => this.jobs.get(name)?.blacklisted(hostname) ?? false,
      // A job's pods go only into offers of its owner's role (its quota and ledger bind them).
      offerFits: (name, offer) => {
        const job = this.jobs.get(name);
        return job !== undefined && offerFits(offer, ownerOf(job.record));
      },
    });
    for (const job of running) job.pending = placement.pending.get(job.record.name) ?? [];
    const byOffer = new Map<string, TaskInfo[]>();
    const launched: { job: JobState; pod: Pod }[] = [];
    for (const assignment of placement.assignments) {
      const job = this.jobs.get(assignment.job);
      if (!job) continue;
      const pod = job.pod(assignment.podId);
      const spec = job.specOf(pod.record.revision);
      const taskId = newTaskId(pod.record.podId);
      const podToken = newToken();
      Object.assign(pod.record, {
        taskId,
        tokenSha256: tokenHash(podToken),
        agentId: assignment.agentId,
        hostname: assignment.hostname,
        ports: assignment.ports,
        launchedAt: this.now(),
        containerRevision: pod.record.revision,
      });
      pod.runtime.report = undefined;
      pod.runtime.healthySince = 0;
      this.tasks.set(taskId, { job: job.record.name, podId: pod.record.podId });
      const tasks = byOffer.get(assignment.offerId) ?? [];
      tasks.push(
        podTask(
          job.record.name,
          pod.record.podId,
          taskId,
          spec,
          assignment,
          { ...this.options.worker(), podToken },
          ownerOf(job.record),
        ),
      );
      byOffer.set(assignment.offerId, tasks);
      launched.push({ job, pod });
      this.dirty.add(job.record.name);
    }
    for (const [offerId, tasks] of byOffer) {
      try {
        await driver.launch([offerId], tasks, { refuseSeconds: 0 });
        this.log.info({ tasks: tasks.map((t) => t.taskId) }, 'pods launched');
      } catch (error) {
        this.log.warn({ err: String(error) }, 'launch refused; the pods wait for another offer');
        for (const task of tasks) this.unlaunch(task.taskId);
      }
    }
    if (placement.unused.length > 0) await driver.decline(placement.unused, { refuseSeconds: 2 });
    this.flushDirty();
  }

  update(_driver: SchedulerDriver, status: TaskStatus): void {
    const owner = this.tasks.get(status.taskId);
    const job = owner && this.jobs.get(owner.job);
    const record = job?.record.pods.find((p) => p.podId === owner?.podId && p.taskId === status.taskId);
    if (!owner || !job || !record) {
      if (isGone(status.state)) this.tasks.delete(status.taskId);
      else if (!owner) void this.driver?.kill(status.taskId, status.agentId).catch(() => undefined);
      return;
    }
    if (!isGone(status.state)) return;
    const pod = job.pod(record.podId);
    this.tasks.delete(status.taskId);
    this.naming.withdraw(job, pod);
    if (pod.runtime.removing) {
      job.dropPod(record.podId);
    } else {
      if (status.reason === PREEMPTED_REASON) {
        // Killed for a higher band: not the host's fault, so no blacklisting; placed again.
        this.log.warn({ job: job.record.name, pod: record.podId, message: status.message }, 'pod preempted');
      } else if (!pod.runtime.killing) {
        job.record.hostFailures[record.hostname] = (job.record.hostFailures[record.hostname] ?? 0) + 1;
        this.log.warn(
          { job: job.record.name, pod: record.podId, state: stateName(status.state), reason: status.reason },
          'pod container ended; it will be placed again',
        );
      }
      this.resetToPending(pod);
      this.gate.want();
    }
    job.pruneSpecs();
    this.dirty.add(job.record.name);
    this.flushDirty();
  }

  /** An agent is gone for good: its pods are placed again; stale copies are killed if they show up. */
  failure(_driver: SchedulerDriver, agentId: string): void {
    for (const job of this.jobs.values()) {
      for (const pod of job.pods()) {
        if (pod.record.agentId !== agentId || pod.record.taskId === '') continue;
        this.log.warn(
          { job: job.record.name, pod: pod.record.podId, agent: agentId },
          'agent lost; placing the pod again',
        );
        this.tasks.delete(pod.record.taskId);
        this.naming.withdraw(job, pod);
        if (pod.runtime.removing) job.dropPod(pod.record.podId);
        else this.resetToPending(pod);
        this.dirty.add(job.record.name);
      }
    }
    this.gate.want();
    this.flushDirty();
  }

  disconnected(): void {
    this.gate.reset();
  }

  subscribed(): void {
    this.gate.reset();
    this.draining.clear(); // the master announces the current drains right after SUBSCRIBED
  }

  /** An agent drains (or stops draining): its pods move away on the next ticks. */
  agentDraining(_driver: SchedulerDriver, agentId: string, draining: boolean): void {
    if (draining) this.draining.add(agentId);
    else this.draining.delete(agentId);
    this.log.info(
      { agent: agentId, draining },
      draining ? 'agent draining; moving its pods away' : 'agent drain ended',
    );
    this.tick();
  }

  // ── the tick ───────────────────────────────────────────────────────────────────────────────

  /** Replicas, updates, deploy timeouts, lost kills; then offers wanted or not. */
  tick(): void {
    const now = this.now();
    for (const job of this.jobs.values()) {
      if (job.record.state === 'running') this.reconcileReplicas(job);
      this.stepUpdate(job);
      this.drainPods(job);
      const timeoutMs = job.spec.deploy.deployTimeoutS * 1000;
      for (const pod of job.pods()) {
        const phase = podPhase(pod);
        if (pod.runtime.killing && now - pod.runtime.killSentAt > KILL_RETRY_MS) this.sendKill(pod);
        if ((phase === 'launching' || phase === 'deploying') && now - pod.record.launchedAt > timeoutMs) {
          this.log.warn({ job: job.record.name, pod: pod.record.podId }, 'pod stuck deploying; replacing it elsewhere');
          job.record.hostFailures[pod.record.hostname] = (job.record.hostFailures[pod.record.hostname] ?? 0) + 1;
          this.kill(pod);
          this.dirty.add(job.record.name);
        }
      }
    }
    if ([...this.jobs.values()].some((j) => j.pendingPods().length > 0)) this.gate.want();
    (this.preemption ??= new PodPreemption(this.log, this.now)).step(this.driver, this.jobs.values());
    this.flushDirty();
  }

  /** Replaces the pods on draining agents that the job's deploy pace allows now (drain.ts). */
  private drainPods(job: JobState): void {
    const { step, intervalS } = job.spec.deploy;
    for (const podId of planDrain(job.pods(), this.draining, { step, intervalS }, this.now())) {
      const pod = job.pod(podId);
      this.log.info(
        { job: job.record.name, pod: podId, agent: pod.record.agentId },
        'moving the pod off a draining agent',
      );
      this.kill(pod);
      this.dirty.add(job.record.name);
    }
  }

  /** Adds or retires pods until the job has `replicas` live ones. */
  private reconcileReplicas(job: JobState): void {
    const want = job.record.state === 'running' ? job.spec.replicas : 0;
    const live = job.pods().filter((p) => !p.runtime.removing);
    let changed = false;
    for (let n = live.length; n < want; n += 1) {
      job.addPod(this.now());
      changed = true;
    }
    if (live.length > want) {
      const extra = live
        .sort(
          (a, b) => Number(a.record.taskId !== '') - Number(b.record.taskId !== '') || b.record.index - a.record.index,
        )
        .slice(0, live.length - want);
      for (const pod of extra) this.retire(job, pod);
      changed = true;
    }
    if (changed) {
      this.dirty.add(job.record.name);
      this.gate.want();
    }
  }

  /** Moves the job's update along (see update.ts). */
  private stepUpdate(job: JobState): void {
    const update = job.record.update;
    if (!update) return;
    const now = this.now();
    const plan = planUpdate(job.record, job.pods(), now);
    for (const podId of plan.newlyFailed) {
      update.failed.push(podId);
      const host = job.record.pods.find((p) => p.podId === podId)?.hostname ?? '';
      if (host !== '') job.record.hostFailures[host] = (job.record.hostFailures[host] ?? 0) + 1;
      this.log.warn({ job: job.record.name, pod: podId, revision: update.to }, 'pod failed the update');
    }
    if (plan.failed) {
      if (job.specOf(update.to).deploy.autoRollback && !update.rollingBack) this.rollback(job, 'max failures');
      else if (!update.paused) {
        update.paused = true;
        update.pausedReason = 'max failures';
      }
    } else if (plan.pause !== undefined) {
      update.paused = true;
      update.pausedReason = plan.pause;
      this.log.info({ job: job.record.name, reason: plan.pause }, 'update paused');
    } else if (plan.done) {
      this.log.info({ job: job.record.name, revision: update.to, rolledBack: update.rollingBack }, 'update done');
      job.record.update = undefined;
      job.pruneSpecs();
    }
    for (const podId of plan.retarget) this.retarget(job, job.pod(podId), update.to, update.kind);
    if (plan.newlyFailed.length + plan.retarget.length > 0 || plan.failed || plan.pause !== undefined || plan.done) {
      this.dirty.add(job.record.name);
      this.wake(job.record.name);
    }
  }

  /** Gives a pod a new target revision: in place, or with a new container when resources changed. */
  private retarget(job: JobState, pod: Pod, revision: number, kind: string): void {
    pod.record.revision = revision;
    pod.record.retargetedAt = this.now();
    pod.runtime.healthySince = 0;
    const replace =
      kind === 'replace' &&
      pod.record.taskId !== '' &&
      classifyChange(job.specOf(pod.record.containerRevision), job.specOf(revision)).kind === 'replace';
    if (replace) this.kill(pod);
  }

  /** Starts a rollback to the revision before the current one. */
  private rollback(job: JobState, why: string): void {
    const record = job.record;
    const back = record.update?.from ?? job.previousRevision();
    if (back === undefined || back === record.revision)
      throw new GalaxyError('GALAXY_E_JOB_STATE', `job ${record.name} has no earlier revision to roll back to`);
    const kind = classifyChange(job.specOf(record.revision), job.specOf(back)).kind;
    record.update = newUpdate(
      record.revision,
      back,
      kind === 'reload' || kind === 'replace' ? kind : 'rebuild',
      this.now(),
      {
        rollingBack: true,
      },
    );
    record.revision = back;
    this.log.warn({ job: record.name, to: back, why }, 'rolling back');
  }

  /** Marks a pod to go away with its container. */
  private retire(job: JobState, pod: Pod): void {
    pod.runtime.removing = true;
    if (pod.record.taskId === '') job.dropPod(pod.record.podId);
    else this.kill(pod);
    this.dirty.add(job.record.name);
  }

  private kill(pod: Pod): void {
    pod.runtime.killing = true;
    this.sendKill(pod);
  }

  private sendKill(pod: Pod): void {
    pod.runtime.killSentAt = this.now();
    const { taskId, agentId } = pod.record;
    void this.driver?.kill(taskId, agentId).catch((error: unknown) => {
      this.log.warn({ task: taskId, err: String(error) }, 'kill not sent; it is retried');
    });
  }

  /** The pod has no container any more: it waits for a new one. */
  private resetToPending(pod: Pod): void {
    Object.assign(pod.record, { taskId: '', agentId: '', hostname: '', ports: {}, launchedAt: 0 });
    Object.assign(pod.runtime, { report: undefined, killing: false, healthySince: 0, killSentAt: 0 });
  }

  private unlaunch(taskId: string): void {
    const owner = this.tasks.get(taskId);
    this.tasks.delete(taskId);
    const job = owner && this.jobs.get(owner.job);
    const record = job?.record.pods.find((p) => p.taskId === taskId);
    if (record) Object.assign(record, { taskId: '', agentId: '', hostname: '', ports: {}, launchedAt: 0 });
  }

  private job(name: string): JobState {
    const job = this.jobs.get(name);
    if (!job) throw new GalaxyError('GALAXY_E_JOB_UNKNOWN', `no job named "${name.slice(0, 100)}"`);
    return job;
  }

  /**
   * Stores a new job before it exists anywhere else. When the store fails the submit fails: the
   * owner's claim is released and the key removed (in case the write landed unacknowledged).
   */
  private async storeNew(record: JobRecord, owner: string): Promise<void> {
    try {
      await this.store.store(record);
    } catch (error) {
      await this.tenancy.release(owner, record.name).catch((release: unknown) => {
        this.log.error({ job: record.name, err: String(release) }, 'quota claim of an unstored job not released');
      });
      await this.store.remove(record.name);
      const reason = isGalaxyError(error) ? error.detail : String(error);
      throw new GalaxyError(
        isGalaxyError(error) ? error.code : 'GALAXY_E_COORD_UNAVAILABLE',
        `job ${record.name} was not submitted: storing it failed (${reason}); nothing of it was kept`,
        { cause: error },
      );
    }
  }

  private async save(job: JobState): Promise<void> {
    this.dirty.delete(job.record.name);
    this.wake(job.record.name);
    await this.store.save(job.record);
  }

  private flushDirty(): void {
    for (const name of this.dirty) {
      const job = this.jobs.get(name);
      if (job) void this.store.save(job.record);
    }
    this.dirty.clear();
  }
}

/**
 * Whose band authority a change of a job's band or pool needs: its owner's (the caller's own
 * principal when the caller is the owner; otherwise the owner as a user without admin rights).
 */
function ownerPrincipal(record: JobRecord, caller: Principal): Principal {
  const owner = ownerOf(record);
  return caller.kind === 'user' && caller.user === owner ? caller : { user: owner, admin: false, kind: 'user' };
}

/** The spec type pods run, re-exported for plugin authors. */
export type { JobSpec };
