/**
 * The AppMaster: Galaxy's framework for long-running services. It keeps each job's pods placed
 * (offers → placement → LAUNCH of an AppWorker container), tells every AppWorker what to run when
 * it pulls, paces rolling updates, replaces failed pods, and publishes endpoints to naming.
 *
 * This file is the composition root: it builds the shared parts (`context.ts`), the modules —
 * the verbs (`verbs.ts`), the pull protocol (`pull-protocol.ts`), offers and launching
 * (`launcher.ts`), the rollout (`rollout.ts`) and the reconcile tick (`reconcile.ts`) — and
 * applies the plugins on its hooks (`hooks.ts`): its own naming, drain and preemption plugins
 * first, then those of its options. The scheduler events and the API calls are handed on.
 *
 * All state changes happen on the Node event loop in small synchronous steps, so the verbs, the
 * scheduler events, the pulls and the tick never interleave inside one step.
 */
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import type {
  ExecResult,
  JobHistoryResponse,
  JobPlan,
  JobStatus,
  PullRequest,
  PullResponse,
  UpdateControl,
  VolumesInfo,
} from '../../proto/gen/galaxy/v1/appmaster.js';
import type { Offer, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { EventPublisher, type PublishedEvent } from '../sdk/event-publisher.js';
import { OfferGate } from '../sdk/offer-gate.js';
import { OwnerRoles } from '../sdk/owner-roles.js';
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import type { Scheduler } from '../sdk/scheduler.js';
import { JobTenancy } from '../sdk/tenancy.js';
import { ownerOf } from './admission.js';
import type { AppMasterContext, AppMasterOptions } from './context.js';
import { createAppMasterHooks, type AppMasterHooks } from './hooks.js';
import { JobBook } from './job-book.js';
import { AppMasterMetrics } from './metrics.js';
import { controlKind, jobNameOf, recordVerb } from './job-events.js';
import { JobState } from './job-state.js';
import { PodLauncher } from './launcher.js';
import { drainPlugin } from './plugins/drain.js';
import { namingPlugin } from './plugins/naming.js';
import { preemptionPlugin } from './plugins/preemption.js';
import { blacklistEventsPlugin } from './plugins/blacklist-events.js';
import { LastOffers } from './plan.js';
import { PodControl } from './pod-control.js';
import { PullProtocol } from './pull-protocol.js';
import { Reconciler } from './reconcile.js';
import { Rollout } from './rollout.js';
import { JobStore } from './store.js';
import { UnknownTasks } from './unknown-tasks.js';
import { JobVerbs } from './verbs.js';
import { VolumeVerbs } from './volumes.js';

export type { AppMasterOptions } from './context.js';
export type { AppMasterHost, AppMasterPlugin } from './hooks.js';

/** How often the reconcile tick runs. */
const TICK_MS = 500;

/** The AppMaster's own plugins, applied before those of its options. */
const BUILT_IN_PLUGINS = [namingPlugin, drainPlugin, preemptionPlugin, blacklistEventsPlugin];

/** The service framework. */
export class AppMaster implements Scheduler {
  /** The extension points its plugins tap. */
  readonly hooks: AppMasterHooks = createAppMasterHooks();
  /** Each job's pods run in its owner's role: the AppMaster holds the roles of its jobs' owners. */
  readonly roles: OwnerRoles;
  private readonly ctx: AppMasterContext;
  /** The AppMaster's Prometheus metrics (`metrics.ts`). */
  readonly metrics: AppMasterMetrics;
  private readonly verbs: JobVerbs;
  private readonly volumeVerbs: VolumeVerbs;
  private readonly pulls: PullProtocol;
  private readonly launcher: PodLauncher;
  private readonly reconciler: Reconciler;
  private attached: SchedulerDriver | undefined;
  private timer?: NodeJS.Timeout;

  constructor(options: AppMasterOptions) {
    const { coordinator, log } = options;
    const now = options.now ?? Date.now;
    const driver = () => this.attached;
    const store = new JobStore(coordinator, log);
    const book = new JobBook(store, this.hooks);
    const unknownTasks = new UnknownTasks();
    const pods = new PodControl({ book, log, now, driver, unknownTasks });
    const events = new EventPublisher(driver, log);
    this.roles = new OwnerRoles(log);
    this.ctx = {
      options,
      hooks: this.hooks,
      log,
      coordinator,
      now,
      driver,
      jobs: () => book.all(),
      replacePod: (job, pod) => {
        events.publish({
          kind: 'pod.replaced',
          user: ownerOf(job.record),
          actor: 'appmaster',
          job: job.record.name,
          pod: pod.record.podId,
          agentId: pod.record.agentId,
          taskId: pod.record.taskId,
        });
        pods.kill(pod);
        book.touch(job);
      },
      events,
      book,
      store,
      pods,
      gate: new OfferGate(),
      roles: this.roles,
      tenancy: options.tenancy ?? new JobTenancy(coordinator, 'appmaster'),
      lastOffers: new LastOffers(),
      unknownTasks,
    };
    const rollout = new Rollout(this.ctx);
    this.reconciler = new Reconciler(this.ctx, rollout);
    this.verbs = new JobVerbs(this.ctx, rollout, this.reconciler);
    this.volumeVerbs = new VolumeVerbs(this.ctx, this.verbs.serial);
    this.pulls = new PullProtocol(this.ctx, rollout);
    this.launcher = new PodLauncher(this.ctx);
    this.metrics = new AppMasterMetrics(() => book.all(), now);
    for (const plugin of [...BUILT_IN_PLUGINS, ...(options.plugins ?? [])]) plugin.apply(this.ctx);
  }

  /** Loads the stored jobs; their containers are re-adopted as the master reconciles them. */
  async recover(): Promise<void> {
    for (const record of await this.ctx.store.loadAll()) {
      this.ctx.book.add(new JobState(record));
      this.roles.adopt(ownerOf(record));
    }
    if (this.ctx.book.size > 0) this.ctx.log.info({ jobs: this.ctx.book.size }, 'jobs recovered');
  }

  /** Called once the driver is subscribed: starts the tick. */
  attach(driver: SchedulerDriver): void {
    this.attached = driver;
    this.ctx.gate.attach(driver);
    this.roles.attach(driver);
    this.timer = setInterval(() => {
      this.tick();
    }, TICK_MS);
    this.timer.unref();
  }

  /** Stops the tick and releases held pulls; waits for pending writes. */
  async detach(): Promise<void> {
    clearInterval(this.timer);
    this.pulls.wakeAll();
    await this.ctx.events.close();
    await this.ctx.store.flush();
  }

  // ── verbs (verbs.ts) ───────────────────────────────────────────────────────────────────────

  /** Admits a new job (see {@link JobVerbs.submit}). */
  submit(specJson: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.recorded(caller, jobNameOf(specJson), { kind: 'job.submitted' }, () =>
      this.verbs.submit(specJson, caller),
    );
  }

  /** A new spec for a job, rolled to `canary` pods first when set (see {@link JobVerbs.updateJob}). */
  updateJob(specJson: string, caller: Principal = OPEN_PRINCIPAL, canary = 0): Promise<JobStatus> {
    return this.recorded(
      caller,
      jobNameOf(specJson),
      { kind: 'job.updated', ...(canary > 0 ? { message: `canary of ${canary} pods` } : {}) },
      () => this.verbs.updateJob(specJson, caller, canary),
    );
  }

  /** Sets the number of pods. */
  scale(name: string, replicas: number, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.recorded(caller, name, { kind: 'job.scaled', message: `to ${replicas} pods` }, () =>
      this.verbs.scale(name, replicas, caller),
    );
  }

  /** Pause, continue, roll back, cancel, promote or abort the job's rolling update. */
  control(
    name: string,
    control: UpdateControl,
    caller: Principal = OPEN_PRINCIPAL,
    toRevision?: number,
  ): Promise<JobStatus> {
    return this.recorded(caller, name, { kind: controlKind(control), reason: 'by user' }, () =>
      this.verbs.control(name, control, caller, toRevision),
    );
  }

  /** A dry run of `specJson` (see {@link JobVerbs.plan}). */
  plan(specJson: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobPlan> {
    return this.verbs.plan(specJson, caller);
  }

  /** Forgets the job's failures on a host (every host when ''). */
  unblacklist(name: string, hostname: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.recorded(
      caller,
      name,
      { kind: 'job.unblacklisted', ...(hostname ? { message: `on ${hostname}` } : { message: 'every host' }) },
      () => this.verbs.unblacklist(name, hostname, caller),
    );
  }

  /** The job's kept revisions, newest first. */
  history(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobHistoryResponse> {
    return this.verbs.history(name, caller);
  }

  /** Stops every pod; the job stays. */
  stop(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.recorded(caller, name, { kind: 'job.stopped' }, () => this.verbs.stop(name, caller));
  }

  /** Kills every pod and forgets the job. */
  remove(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.recorded(caller, name, { kind: 'job.removed' }, () => this.verbs.remove(name, caller));
  }

  /** Replaces one pod's container. */
  recoverPod(name: string, podId: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.recorded(caller, name, { kind: 'pod.replaced', pod: podId, reason: 'by user' }, () =>
      this.verbs.recoverPod(name, podId, caller),
    );
  }

  /** The persistent volumes of one job, or of every job the caller may list ('' ). */
  volumes(job: string, caller: Principal = OPEN_PRINCIPAL): Promise<VolumesInfo[]> {
    return this.volumeVerbs.list(job, caller);
  }

  /** Destroys one pod's persistent volume (volumes.ts). */
  destroyVolume(
    name: string,
    podId: string,
    volume: string,
    force: boolean,
    caller: Principal = OPEN_PRINCIPAL,
  ): Promise<VolumesInfo> {
    return this.recorded(caller, name, { kind: 'volume.destroyed', pod: podId, message: volume }, () =>
      this.volumeVerbs.destroy(name, podId, volume, force, caller),
    );
  }

  /** Runs a verb of job `name`, publishing its event (job-events.ts). */
  private recorded<T>(
    caller: Principal,
    name: string,
    event: Omit<PublishedEvent, 'job'>,
    run: () => Promise<T>,
  ): Promise<T> {
    const owner = () => {
      const job = this.ctx.book.get(name);
      return job && ownerOf(job.record);
    };
    return recordVerb(this.ctx.events, caller, { event: { ...event, job: name }, owner }, run);
  }

  /** Runs a command in a pod through its AppWorker. */
  exec(
    name: string,
    podId: string,
    command: string,
    timeoutS: number,
    caller: Principal = OPEN_PRINCIPAL,
  ): Promise<ExecResult> {
    return this.verbs.exec(name, podId, command, timeoutS, caller);
  }

  /** The jobs the caller may show. */
  list(caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus[]> {
    return this.verbs.list(caller);
  }

  /** One job with its pods. */
  show(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.verbs.show(name, caller);
  }

  // ── AppWorker pulls (pull-protocol.ts) ─────────────────────────────────────────────────────

  /** The pod whose current container's pull token hashes to `sha256`. */
  podOfToken(sha256: string): { job: string; podId: string; owner: string } | undefined {
    return this.pulls.podOfToken(sha256);
  }

  /** An AppWorker's report; answered with its next action. */
  pull(request: PullRequest): Promise<PullResponse> {
    const timer = this.metrics.pullSeconds.startTimer();
    return this.pulls.pull(request).finally(timer);
  }

  // ── scheduler events (launcher.ts, plugins) ────────────────────────────────────────────────

  /** Places pending pods into the offers. */
  offers(driver: SchedulerDriver, offers: Offer[]): void {
    this.launcher.offers(driver, offers);
  }

  /** A task's status. */
  update(_driver: SchedulerDriver, status: TaskStatus): void {
    this.launcher.taskUpdate(status);
  }

  /** An agent is gone for good. */
  failure(_driver: SchedulerDriver, agentId: string): void {
    this.launcher.agentLost(agentId);
  }

  /** The connection to the master broke: whether offers flow is unknown. */
  disconnected(): void {
    this.ctx.gate.reset();
  }

  /** (Re-)subscribed: whether offers flow is unknown, launches of unknown outcome are asked about again; the `subscribed` taps run. */
  subscribed(): void {
    this.ctx.gate.reset();
    this.launcher.subscribed();
    this.hooks.subscribed.call();
  }

  /** An agent drains (or stops draining): the `agentDraining` taps run, then a tick. */
  agentDraining(_driver: SchedulerDriver, agentId: string, draining: boolean): void {
    this.hooks.agentDraining.call(agentId, draining);
    this.tick();
  }

  /** One reconcile round (reconcile.ts), and the master asked about launches of unknown outcome. */
  tick(): void {
    this.reconciler.tick();
    this.launcher.askUnknown();
  }
}

/** The spec type pods run, re-exported for plugin authors. */
export type { JobSpec } from './spec/schema.js';
