/**
 * The AppWorker: the first process of every AppMaster container. It pulls its orders from the
 * AppMaster — reporting the pod's state each time — and deploys, starts, stops, reloads and
 * rebuilds the service inside the running container, so updates happen in place.
 *
 * Pulls are level-triggered: every report carries the whole state, and the AppMaster answers
 * with what should happen next. A repeated order that is already done is ignored.
 */
import { clientOptions } from '../../../core/auth/client.js';
import { Metadata } from '@grpc/grpc-js';
import { channelCredentialsFromCa } from '../../../core/tls.js';
import { Backoff } from '../../../core/backoff.js';
import { fromGrpcError } from '../../../core/grpc-errors.js';
import { createLogger, type Logger } from '../../../core/logger.js';
import {
  AppWorkerPullClient,
  PullRequest,
  WorkerAction,
  type ExecOutput,
  type PullResponse,
  type WorkerReport,
} from '../../../proto/gen/galaxy/v1/appmaster.js';
import { ExecRunner } from './execs.js';
import { ReleaseManager, type Release } from './release.js';
import { HealthMonitor } from './health.js';
import { LivenessRestarts } from './liveness.js';
import { LeaderSearch } from './leader-search.js';
import { Supervisor } from './supervisor.js';
import { Wakeup } from './wakeup.js';

/** Where the worker runs and whom it pulls from. */
export interface AppWorkerOptions {
  /**
   * `host:port` of every AppMaster's pull service, the likely leader first: the worker finds the
   * leader among them after a failover ({@link LeaderSearch}); it is never told the coordinator.
   */
  appmasters: readonly string[];
  job: string;
  podId: string;
  /** The container the worker runs in. */
  taskId: string;
  /** The container's sandbox: releases, data and logs live here. */
  sandbox: string;
  /** How long the AppMaster may hold a pull (default 2500 ms). */
  waitMs?: number;
  /** Pull interval until the AppMaster sets one (default 3000 ms). */
  pullIntervalMs?: number;
  /** Retry delays while the AppMaster is unreachable (default 250 ms doubling to 10 s). */
  retryMs?: { initialMs: number; maxMs: number };
  /** The environment the service inherits (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** This pod's pull token (`GALAXY_POD_TOKEN`); none for an open AppMaster. */
  token?: string;
  /** PEM of the CA that signed a TLS AppMaster's certificate (`GALAXY_APPMASTER_CA`); none: plaintext. */
  ca?: string;
}

/** Worker-level phases; the others come from the supervisor and health. */
type WorkerPhase = 'new' | 'deploying' | 'deployed' | 'failed';

/** How long a pull may take beyond the time the AppMaster may hold it. */
const PULL_SLACK_MS = 5000;
/** How long the last report on the way out may take. */
const FINAL_REPORT_MS = 1000;

/** Runs one pod's service and keeps the AppMaster informed. */
export class AppWorker {
  /** Resolves when the worker has stopped: after {@link stop}, or an EXIT from the AppMaster. */
  readonly done: Promise<void>;
  private resolveDone: () => void = () => undefined;
  private client: AppWorkerPullClient;
  /** Which AppMaster the worker pulls from, and where it looks next. */
  private readonly search: LeaderSearch;
  private readonly log: Logger;
  private readonly wakeup = new Wakeup();
  private readonly releases: ReleaseManager;
  private readonly execs: ExecRunner;
  private readonly abort = new AbortController();
  private phase: WorkerPhase | undefined = 'new';
  private message = '';
  private release: Release | undefined;
  private dataRevision = 0;
  private supervisor: Supervisor | undefined;
  private health: HealthMonitor | undefined;
  /** The liveness check of the running release, when its template has one. */
  private liveness: HealthMonitor | undefined;
  private readonly livenessRestarts = new LivenessRestarts();
  private pullIntervalMs: number;
  private cancelPull: (() => void) | undefined;
  private sentKey = '';
  /** Delays the retry of a revision whose deploy failed (the AppMaster repeats its order). */
  private readonly deployRetry = new Backoff(1000, 60_000, 0);
  private failedDeploy: { revision: number; retryAt: number } | undefined;
  private closing = false;
  private stopping: Promise<void> | undefined;
  private loop: Promise<void> = Promise.resolve();
  private queued: PullResponse | undefined;
  private current: PullResponse | undefined;
  private draining: Promise<void> = Promise.resolve();

  constructor(private readonly options: AppWorkerOptions) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    this.log = options.logger ?? createLogger('appworker');
    this.pullIntervalMs = options.pullIntervalMs ?? 3000;
    this.search = new LeaderSearch(options.appmasters);
    this.client = this.connect();
    this.releases = new ReleaseManager(options.sandbox, options.env ?? process.env, {
      job: options.job,
      podId: options.podId,
    });
    // Execs run as the service's user even before a release exists: never as the worker.
    this.execs = new ExecRunner(
      () => ({
        cwd: this.release?.dir ?? options.sandbox,
        env: this.release?.env ?? options.env ?? process.env,
        user: this.releases.user,
      }),
      () => {
        this.changed();
      },
      this.abort.signal,
    );
  }

  /** Begins pulling. */
  start(): void {
    this.loop = this.pullLoop();
  }

  /** Stops the service (stop command, SIGTERM, SIGKILL) and the pulls; resolves {@link done}. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** The pod's state as the next pull will report it (without exec results). */
  report(execResults: ExecOutput[] = []): WorkerReport {
    const supervisor = this.supervisor;
    const health = this.health?.health ?? 'unknown';
    let phase: string = this.phase ?? supervisor?.phase ?? 'stopped';
    if (this.phase === undefined && phase === 'running' && health === 'unknown') phase = 'starting';
    return {
      phase,
      revision: this.release?.revision ?? 0,
      dataRevision: this.dataRevision,
      health,
      restarts: supervisor?.restarts ?? 0,
      lastExitCode: supervisor?.lastExitCode ?? 0,
      delayedUntil: supervisor?.delayedUntil ?? 0,
      message: this.message,
      execResults,
      livenessRestarts: this.livenessRestarts.count(this.release?.template.liveness?.windowS ?? 0, Date.now()),
    };
  }

  /** The state may have changed: if the report differs from the last one sent, send it at once. */
  private changed(): void {
    if (!this.closing && this.reportKey() === this.sentKey) return;
    this.wakeup.notify();
    this.cancelPull?.();
  }

  /** What makes two reports the same, exec results by id. */
  private reportKey(): string {
    const pending = this.execs.pending().map((e) => e.execId);
    return JSON.stringify({ ...this.report(), pending });
  }

  private async pullLoop(): Promise<void> {
    const retry = new Backoff(this.options.retryMs?.initialMs ?? 250, this.options.retryMs?.maxMs ?? 10_000);
    let waitMs = 0;
    for (;;) {
      if (waitMs > 0) await this.wakeup.wait(waitMs);
      if (this.closing) return;
      this.wakeup.clear();
      this.sentKey = this.reportKey();
      const sent = this.execs.pending();
      const outcome = await this.pull(this.report(sent), this.options.waitMs ?? 2500);
      if (outcome === 'cancelled') {
        waitMs = 0;
      } else if (outcome instanceof Error) {
        waitMs = retry.next();
        this.log.warn({ err: outcome.message, retryMs: waitMs }, 'pull failed; the service keeps running');
        this.relocate(outcome);
      } else {
        retry.reset();
        this.search.learned(outcome.appmasters);
        this.execs.delivered(sent);
        if (outcome.pullIntervalMs > 0) this.pullIntervalMs = outcome.pullIntervalMs;
        // Results one pull could not carry go with the next one at once.
        waitMs = this.execs.waiting() ? 0 : this.pullIntervalMs;
        this.receive(outcome);
      }
    }
  }

  /** A client of the AppMaster the search points at. */
  private connect(): AppWorkerPullClient {
    return new AppWorkerPullClient(
      this.search.current,
      channelCredentialsFromCa(this.options.ca),
      clientOptions(this.options.token),
    );
  }

  /** After a failed pull: on to the leader a standby named, or the next AppMaster. */
  private relocate(error: Error): void {
    const from = this.search.current;
    if (!this.search.failed(error)) return;
    this.log.info({ from, to: this.search.current }, 'looking for the leading AppMaster elsewhere');
    this.client.close();
    this.client = this.connect();
  }

  /** One pull; `cancelled` when a change of state interrupted it. */
  private pull(
    report: WorkerReport,
    waitMs: number,
    deadlineMs = waitMs + PULL_SLACK_MS,
  ): Promise<PullResponse | Error | 'cancelled'> {
    const { job, podId, taskId } = this.options;
    const request = PullRequest.create({ job, podId, taskId, report, waitMs });
    return new Promise((resolve) => {
      let cancelled = false;
      const call = this.client.pull(
        request,
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
        (error, response) => {
          this.cancelPull = undefined;
          if (cancelled) resolve('cancelled');
          else if (error) resolve(fromGrpcError(error, `the AppMaster at ${this.search.current}`));
          else resolve(response);
        },
      );
      this.cancelPull = () => {
        cancelled = true;
        call.cancel();
      };
    });
  }

  /** Acts on a response: execs at once, the action in turn with the others. */
  private receive(response: PullResponse): void {
    for (const exec of response.execs) this.execs.run(exec);
    const action = response.action;
    if (action === WorkerAction.ACTION_NONE || action === WorkerAction.WORKER_ACTION_UNSPECIFIED) return;
    if (action === WorkerAction.UNRECOGNIZED) return;
    if (this.current && sameOrder(this.current, response)) {
      this.queued = undefined; // the latest order is the one under way
      return;
    }
    this.queued = response;
    if (this.current === undefined) this.draining = this.drain();
  }

  /** Performs queued actions one at a time; a newer order replaces one that has not begun. */
  private async drain(): Promise<void> {
    for (let next = this.queued; next && !this.closing; next = this.queued) {
      this.queued = undefined;
      this.current = next;
      try {
        await this.perform(next);
      } catch (error) {
        this.fail(`${WorkerAction[next.action]} failed: ${(error as Error).message}`);
      }
      this.current = undefined;
    }
    this.queued = undefined;
  }

  private async perform(order: PullResponse): Promise<void> {
    switch (order.action) {
      case WorkerAction.ACTION_DEPLOY:
      case WorkerAction.ACTION_REBUILD:
        await this.deploy(order);
        return;
      case WorkerAction.ACTION_START:
        this.startService();
        return;
      case WorkerAction.ACTION_STOP:
        this.phase = undefined;
        await this.supervisor?.stop();
        return;
      case WorkerAction.ACTION_RELOAD:
        await this.reload(order);
        return;
      case WorkerAction.ACTION_EXIT:
        void this.stop();
        return;
      default:
        return;
    }
  }

  /** Installs `order`'s revision beside the running one, then swaps the service over to it. */
  private async deploy(order: PullResponse): Promise<void> {
    if (this.release?.revision === order.revision) {
      if (this.phase === 'failed') {
        this.phase = undefined;
        this.message = '';
        this.changed();
      }
      if (this.supervisor?.phase === 'stopped') this.startService();
      return;
    }
    const failed = this.failedDeploy;
    if (failed?.revision === order.revision && Date.now() < failed.retryAt) return;
    this.phase = 'deploying';
    this.message = '';
    this.changed();
    let release: Release;
    try {
      release = await this.releases.install(order, this.abort.signal);
    } catch (error) {
      if (failed?.revision !== order.revision) this.deployRetry.reset();
      this.failedDeploy = { revision: order.revision, retryAt: Date.now() + this.deployRetry.next() };
      this.fail(`deploy of revision ${order.revision} failed: ${(error as Error).message}`);
      return;
    }
    this.failedDeploy = undefined;
    if (this.closing) return;
    this.phase = 'deployed';
    this.changed();
    await this.supervisor?.stop();
    this.health?.stop();
    this.liveness?.stop();
    const previous = this.release;
    this.release = release;
    this.dataRevision = order.revision;
    const target = { ports: release.ports, cwd: release.dir, env: release.env, user: release.command.user };
    this.health = new HealthMonitor(release.template.health, target, () => {
      this.changed();
    });
    const liveness = release.template.liveness;
    this.livenessRestarts.clear();
    this.liveness =
      liveness &&
      new HealthMonitor(liveness, target, (verdict) => {
        if (verdict === 'unhealthy') void this.restartForLiveness();
      });
    if (this.supervisor) this.supervisor.configure(release.command);
    else
      this.supervisor = new Supervisor(release.command, (event) => {
        this.onProcess(event);
      });
    await this.releases.prune([release.revision, previous?.revision ?? release.revision]);
    this.startService();
  }

  private startService(): void {
    if (!this.supervisor || !this.release) {
      this.fail('nothing is deployed to start; send DEPLOY first');
      return;
    }
    this.phase = undefined;
    this.supervisor.start();
    this.changed();
  }

  /** Installs the template's data packages and runs the reload command, without a restart. */
  private async reload(order: PullResponse): Promise<void> {
    if (order.revision === this.dataRevision) return;
    if (!this.release) {
      this.fail('nothing is deployed to reload; send DEPLOY first');
      return;
    }
    try {
      await this.releases.reload(this.release, order, this.abort.signal);
      this.dataRevision = order.revision;
      this.message = '';
    } catch (error) {
      this.message = `reload of revision ${order.revision} failed: ${(error as Error).message}`;
      this.log.warn({ revision: order.revision }, this.message);
    }
    this.changed();
  }

  private onProcess(event: string): void {
    if (event === 'started') {
      this.health?.start();
      this.liveness?.start();
    } else {
      this.health?.stop();
      this.liveness?.stop();
    }
    this.changed();
  }

  /**
   * The liveness check failed `failures` times in a row: the service is restarted in place (not
   * while an order is under way: the order restarts or stops it anyway). The AppMaster sees the
   * count in the report and replaces the pod when restarts keep failing.
   */
  private async restartForLiveness(): Promise<void> {
    const supervisor = this.supervisor;
    if (!supervisor || this.busy() || supervisor.phase !== 'running') return;
    this.livenessRestarts.record(Date.now());
    this.log.warn({ podId: this.options.podId }, 'liveness check failed; restarting the service in place');
    await supervisor.stop();
    if (this.busy() || this.supervisor !== supervisor) return;
    supervisor.start();
    this.changed();
  }

  /** True while an order is under way or the worker is closing. */
  private busy(): boolean {
    return this.closing || this.current !== undefined;
  }

  private fail(message: string): void {
    this.log.error({ podId: this.options.podId }, message);
    this.phase = 'failed';
    this.message = message;
    this.changed();
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    this.queued = undefined;
    this.abort.abort();
    this.changed();
    await this.draining;
    await this.supervisor?.stop();
    this.health?.stop();
    this.liveness?.stop();
    await this.loop;
    await this.execs.settle();
    // One last report, so the AppMaster sees the service stopped rather than a silence.
    await this.pull(this.report(this.execs.pending()), 0, FINAL_REPORT_MS);
    this.client.close();
    this.resolveDone();
  }
}

/** True when two responses give the same order (the AppMaster repeats orders until reported done). */
function sameOrder(a: PullResponse, b: PullResponse): boolean {
  return a.action === b.action && a.revision === b.revision;
}
