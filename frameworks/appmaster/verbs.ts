/**
 * The user verbs of the AppMaster (`galaxy job …`): submit, update, scale, control, stop, remove,
 * recover a pod, exec, list and show.
 *
 * Every verb takes its caller (OPEN_PRINCIPAL, an admin, when the server does not authenticate),
 * checks the caller's authority on the job (its pool's authorities, and `job:any` for another
 * user's job: core/tenancy/ownership.ts) and admits the job's footprint to its owner's quota
 * before it changes anything: a refusal leaves no trace. A job's verbs run one at a time.
 */
import { randomBytes } from 'node:crypto';
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import { bandOf } from '../../core/bands.js';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import { claimJobName } from '../../core/tenancy/ownership.js';
import {
  UpdateControl,
  type ExecResult,
  type JobHistoryResponse,
  type JobPlan,
  type JobStatus,
} from '../../proto/gen/galaxy/v1/appmaster.js';
import { historyOf, keptRevisions } from './history.js';
import { planJob } from './plan.js';
import { volumeKey } from './placement/resources.js';
import { planPreemptions } from './plan-preemptions.js';
import { namingOwner } from '../sdk/naming.js';
import { jobFootprint, KeyedSerial, ownedJob, ownerOf, specFootprint } from './admission.js';
import type { AppMasterContext } from './context.js';
import { checkExecCommand, PendingExecs } from './exec-output.js';
import { JobState } from './job-state.js';
import type { JobRecord } from './model.js';
import type { JobSpec } from './spec/schema.js';
import type { Reconciler } from './reconcile.js';
import type { Rollout } from './rollout.js';
import { authorizeContainer } from './sandbox-authority.js';
import { classifyChange } from './spec/diff.js';
import { parseJobSpecJson } from './spec/parse.js';
import { jobStatus } from './status.js';
import { checkRecordFits } from './store.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';

/** Offers seen this recently are planned against as they are (an AppMaster placing pods gets them every round). */
const PLAN_OFFERS_FRESH_S = 3;
/** How long a plan waits for new offers after its REVIVE (several allocation rounds). */
const PLAN_OFFERS_WAIT_MS = 2000;

/** The verbs. */
export class JobVerbs {
  /** A job's verbs run one at a time (admission, then change); the volume verbs share it. */
  readonly serial = new KeyedSerial();
  /** Execs waiting per user and pod, bounded (exec-output.ts). */
  private readonly pendingExecs = new PendingExecs();

  constructor(
    private readonly ctx: AppMasterContext,
    private readonly rollout: Rollout,
    private readonly reconciler: Reconciler,
  ) {}

  /**
   * Admits a new job: authorized, its name free (another user's job, or naming entries, holding
   * it make it taken), admitted to its owner's quota, stored; then its pods wait for offers.
   */
  async submit(specJson: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    const spec = parseJobSpecJson(specJson, 'spec');
    const { book, tenancy, roles, store, log } = this.ctx;
    return this.serial.run(spec.name, async () => {
      const free = () => {
        const held = book.get(spec.name);
        if (claimJobName(caller, spec.name, held && ownerOf(held.record)) === 'own')
          throw new GalaxyError(
            'GALAXY_E_JOB_DUPLICATE',
            `job ${spec.name} exists; use "galaxy job update" to change it`,
          );
      };
      await tenancy.authorize(caller, spec.pool, 'job:create');
      await tenancy.authorizeBand(caller, spec.pool, bandOf(spec.band));
      await authorizeContainer(tenancy, caller, spec);
      free();
      claimJobName(caller, spec.name, (await namingOwner(this.ctx.coordinator, spec.name))?.user);
      const record: JobRecord = {
        name: spec.name,
        revision: 1,
        specs: { 1: spec },
        state: 'running',
        submittedAt: this.ctx.now(),
        update: undefined,
        pods: [],
        nextIndex: 0,
        hostFailures: {},
        history: [{ revision: 1, at: this.ctx.now(), user: caller.user, kind: 'submit', fields: [] }],
        owner: caller.user,
        uid: randomBytes(12).toString('hex'),
      };
      // The job must fit one coordinator key, pods included: refused now, before anything is claimed.
      const probe = new JobState(structuredClone(record)).addPod(this.ctx.now());
      checkRecordFits(record, spec.replicas, Buffer.byteLength(JSON.stringify(probe.record)));
      await tenancy.admit(caller.user, spec.name, specFootprint(spec));
      free();
      await this.storeNew(record, caller.user);
      // The pods run in the owner's role: the AppMaster must hold it before they are placed.
      await roles.hold(caller.user).catch(async (error: unknown) => {
        await tenancy.release(caller.user, spec.name);
        await store.remove(spec.name);
        throw error;
      });
      const job = new JobState(record);
      book.add(job);
      this.reconciler.replicas(job);
      // Its pods may be placed while their records are stored (launches never wait for a write).
      this.ctx.gate.revive();
      await book.save(job);
      log.info(
        { job: spec.name, replicas: spec.replicas, version: spec.package.version, owner: caller.user },
        'job submitted',
      );
      return this.status(spec.name);
    });
  }

  /**
   * A new spec for a job. A change of package, commands or data rolls out in place; a change of
   * resources rolls out by replacing containers; replicas and policies apply at once. The owner's
   * claim becomes the larger of the old and the new revision, per resource.
   */
  async updateJob(specJson: string, caller: Principal = OPEN_PRINCIPAL, canary = 0): Promise<JobStatus> {
    const spec = parseJobSpecJson(specJson, 'spec');
    const { book, tenancy } = this.ctx;
    return this.serial.run(spec.name, async () => {
      const job = book.job(spec.name);
      const record = job.record;
      const change = classifyChange(job.spec, spec);
      const revises = change.kind !== 'none' && change.kind !== 'scale';
      checkCanary(canary, spec.replicas, revises);
      const busy = () => {
        if (revises && record.update)
          throw new GalaxyError(
            'GALAXY_E_JOB_STATE',
            `job ${spec.name} is being updated to revision ${record.update.to}; continue, cancel or roll it back first`,
          );
      };
      busy();
      await tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      if (spec.pool !== job.spec.pool)
        await tenancy.authorizeJob(caller, { ...ownedJob(job), pool: spec.pool }, 'job:create');
      if (spec.pool !== job.spec.pool || bandOf(spec.band) !== bandOf(job.spec.band))
        await tenancy.authorizeBand(ownerPrincipal(record, caller), spec.pool, bandOf(spec.band));
      await authorizeContainer(tenancy, ownerPrincipal(record, caller), spec);
      await tenancy.admit(ownerOf(record), spec.name, jobFootprint([...Object.values(record.specs), spec]));
      busy();
      this.rollout.revise(job, spec, change, { user: caller.user, canary });
      record.state = 'running';
      this.reconciler.replicas(job);
      this.rollout.step(job);
      await book.save(job);
      return this.status(spec.name);
    });
  }

  /** Sets the number of pods, admitted to the owner's quota first. */
  async scale(name: string, replicas: number, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > 10_000)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `replicas must be 0..10000, not ${replicas}`);
    return this.serial.run(name, async () => {
      const job = this.ctx.book.job(name);
      await this.ctx.tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      await this.ctx.tenancy.admit(ownerOf(job.record), name, jobFootprint(Object.values(job.record.specs), replicas));
      job.record.specs[job.record.revision] = { ...job.spec, replicas };
      job.record.state = 'running';
      this.reconciler.replicas(job);
      await this.ctx.book.save(job);
      return this.status(name);
    });
  }

  /**
   * Pause, continue, roll back, cancel, promote or abort the job's rolling update. A rollback with
   * `toRevision` and no update running rolls that kept revision out again as a new revision
   * (its spec with today's replicas), admitted to the owner's quota first.
   */
  async control(
    name: string,
    control: UpdateControl,
    caller: Principal = OPEN_PRINCIPAL,
    toRevision?: number,
  ): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.ctx.book.job(name);
      await this.ctx.tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      if (toRevision !== undefined && toRevision > 0) {
        if (control !== UpdateControl.UPDATE_ROLLBACK)
          throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'a revision (--to) goes only with rollback');
        const spec = rollbackSpec(job, toRevision);
        await this.ctx.tenancy.admit(
          ownerOf(job.record),
          name,
          jobFootprint([...Object.values(job.record.specs), spec]),
        );
        const change = classifyChange(job.spec, spec);
        this.rollout.revise(job, spec, change, { user: caller.user, from: toRevision });
        this.rollout.step(job);
        await this.ctx.book.save(job);
        return this.status(name);
      }
      this.rollout.control(job, control);
      this.rollout.step(job);
      await this.ctx.book.save(job);
      return this.status(name);
    });
  }

  /** Stops every pod; the job stays (scale or update it to run again), and so does its claim. */
  async stop(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.ctx.book.job(name);
      await this.ctx.tenancy.authorizeJob(caller, ownedJob(job), 'job:remove');
      job.record.state = 'stopped';
      job.record.update = undefined;
      for (const pod of job.pods()) this.ctx.pods.retire(job, pod);
      await this.ctx.book.save(job);
      return this.status(name);
    });
  }

  /** Kills every pod, forgets the job (the `jobRemoved` taps withdraw its naming entries), and releases its owner's claim. */
  async remove(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    const { book, tenancy, roles, store, hooks, log } = this.ctx;
    return this.serial.run(name, async () => {
      const job = book.job(name);
      await tenancy.authorizeJob(caller, ownedJob(job), 'job:remove');
      job.record.state = 'stopped';
      for (const pod of job.pods()) this.ctx.pods.retire(job, pod);
      this.destroyKeptVolumes(job.record);
      const status = this.status(name);
      book.delete(name);
      book.notify(job);
      await store.remove(name);
      await hooks.jobRemoved.promise(job.record);
      await tenancy.release(ownerOf(job.record), name);
      roles.release(ownerOf(job.record));
      log.info({ job: name }, 'job removed');
      return { ...status, state: 'removed' };
    });
  }

  /**
   * Deletes the persistent disk volumes of a removed job's pods (docs/disks.md): each agent does
   * it once the pod's container is gone. An agent away now keeps the volume (logged).
   */
  private destroyKeptVolumes(record: JobRecord): void {
    const driver = this.ctx.driver();
    for (const pod of record.pods) {
      for (const volume of Object.keys(pod.kept?.disks ?? {})) {
        const agentId = pod.kept?.agentId ?? '';
        void driver?.destroyVolume(agentId, volumeKey(pod.podId, volume, record.uid)).catch((error: unknown) => {
          this.ctx.log.warn({ pod: pod.podId, volume, agentId, err: String(error) }, 'persistent volume not destroyed');
        });
      }
    }
  }

  /** Replaces one pod's container (not counted as a failure); needs `container:remove`. */
  async recoverPod(name: string, podId: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.ctx.book.job(name);
      await this.ctx.tenancy.authorizeJob(caller, ownedJob(job), 'container:remove');
      const pod = job.pod(podId);
      if (pod.record.taskId !== '') this.ctx.pods.kill(pod);
      await this.ctx.book.save(job);
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
    const { book } = this.ctx;
    await this.ctx.tenancy.authorizeJob(caller, ownedJob(book.job(name)), 'container:create');
    const job = book.job(name);
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
      book.notify(job);
    });
  }

  /**
   * A dry run of submitting or updating with `specJson`: needs what the real verb needs
   * (`job:update` on the job, or `job:create` in the pool for a new one) and changes nothing. For
   * the pods with no room it asks the master which tasks it would preempt (dry runs).
   */
  async plan(specJson: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobPlan> {
    const spec = parseJobSpecJson(specJson, 'spec');
    const { book, tenancy } = this.ctx;
    const job = book.get(spec.name);
    if (job) await tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
    else await tenancy.authorize(caller, spec.pool, 'job:create');
    const owner = job ? ownerOf(job.record) : caller.user;
    const footprint = job ? jobFootprint([...Object.values(job.record.specs), spec]) : specFootprint(spec);
    const { offers, ageS } = await this.freshOffers();
    const plan = planJob({
      job,
      spec,
      offers,
      offersAgeS: ageS,
      quotaOver: await tenancy.wouldExceed(owner, spec.name, footprint),
      blacklisted: (hostname) => job?.blacklisted(hostname) ?? false,
    });
    // Which tasks the master would preempt for the pods with no room: dry runs, nothing preempted.
    return { ...plan, ...(await planPreemptions(this.ctx.driver(), plan, spec, owner)) };
  }

  /**
   * The offers to plan against: those last seen when they are recent, else new ones (a REVIVE,
   * then the first offers to come, or none after {@link PLAN_OFFERS_WAIT_MS}).
   */
  private async freshOffers(): Promise<{ offers: Offer[]; ageS: number }> {
    const { lastOffers, gate } = this.ctx;
    const seen = lastOffers.snapshot(this.ctx.now());
    if (seen.ageS >= 0 && seen.ageS <= PLAN_OFFERS_FRESH_S) return seen;
    const renewed = lastOffers.renew(PLAN_OFFERS_WAIT_MS, this.ctx.now());
    gate.revive();
    await renewed;
    return lastOffers.snapshot(this.ctx.now());
  }

  /** Forgets the job's failures on `hostname` (every host when ''): its pods may be placed there again. */
  async unblacklist(name: string, hostname: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    return this.serial.run(name, async () => {
      const job = this.ctx.book.job(name);
      await this.ctx.tenancy.authorizeJob(caller, ownedJob(job), 'job:update');
      if (hostname !== '' && !(hostname in job.record.hostFailures))
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `job ${name} has no failures on host "${hostname.slice(0, 100)}"; see "galaxy job show ${name}"`,
        );
      job.forgetHostFailures(this.ctx.now(), hostname);
      await this.ctx.book.save(job);
      this.ctx.gate.want();
      return this.status(name);
    });
  }

  /** The job's kept revisions, newest first; needs `job:list` as `show` does. */
  async history(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobHistoryResponse> {
    const job = this.ctx.book.job(name);
    await this.ctx.tenancy.authorizeJob(caller, ownedJob(job), 'job:list');
    return { name, revisions: historyOf(job.record) };
  }

  /** The jobs the caller may show (`job:list`; others' jobs also `job:any`), oldest first. */
  async list(caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus[]> {
    const visible = await this.ctx.tenancy.jobFilter(caller);
    return this.ctx.book
      .all()
      .filter((job) => visible(ownedJob(job)))
      .sort((a, b) => a.record.submittedAt - b.record.submittedAt)
      .map((job) => jobStatus(job, this.ctx.now()));
  }

  /** One job with its pods; needs `job:list` on its pool (and `job:any` for another user's). */
  async show(name: string, caller: Principal = OPEN_PRINCIPAL): Promise<JobStatus> {
    await this.ctx.tenancy.authorizeJob(caller, ownedJob(this.ctx.book.job(name)), 'job:list');
    return this.status(name);
  }

  private status(name: string): JobStatus {
    return jobStatus(this.ctx.book.job(name), this.ctx.now());
  }

  /**
   * Stores a new job before it exists anywhere else. When the store fails the submit fails: the
   * owner's claim is released and the key removed (in case the write landed unacknowledged).
   */
  private async storeNew(record: JobRecord, owner: string): Promise<void> {
    const { store, tenancy, log } = this.ctx;
    try {
      await store.store(record);
    } catch (error) {
      await tenancy.release(owner, record.name).catch((release: unknown) => {
        log.error({ job: record.name, err: String(release) }, 'quota claim of an unstored job not released');
      });
      await store.remove(record.name);
      const reason = isGalaxyError(error) ? error.detail : String(error);
      throw new GalaxyError(
        isGalaxyError(error) ? error.code : 'GALAXY_E_COORD_UNAVAILABLE',
        `job ${record.name} was not submitted: storing it failed (${reason}); nothing of it was kept`,
        { cause: error },
      );
    }
  }
}

/**
 * The spec `rollback --to revision` rolls out: that kept revision's, with the job's replicas.
 * GALAXY_E_JOB_STATE while an update runs or when it is what runs; GALAXY_E_INVALID_ARGUMENT,
 * naming the kept ones, when it is not kept.
 */
function rollbackSpec(job: JobState, revision: number): JobSpec {
  const record = job.record;
  if (record.update)
    throw new GalaxyError(
      'GALAXY_E_JOB_STATE',
      `job ${record.name} is being updated to revision ${record.update.to}; roll that back, or wait for it, first`,
    );
  const keptNumbers = record.history ? keptRevisions(record) : Object.keys(record.specs).map(Number);
  const kept = keptNumbers.includes(revision) ? record.specs[revision] : undefined;
  if (!kept)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `job ${record.name} keeps no revision ${revision}; kept: ${keptNumbers.join(', ')} (see "galaxy job history")`,
    );
  const spec = { ...kept, replicas: job.spec.replicas };
  const kind = classifyChange(job.spec, spec).kind;
  if (kind === 'none' || kind === 'scale')
    throw new GalaxyError('GALAXY_E_JOB_STATE', `job ${record.name} already runs what revision ${revision} runs`);
  return spec;
}

/**
 * A canary of `canary` pods needs a change that makes a revision, and fewer pods than the job has
 * (GALAXY_E_INVALID_ARGUMENT otherwise; 0 is no canary).
 */
function checkCanary(canary: number, replicas: number, revises: boolean): void {
  if (canary === 0) return;
  if (!Number.isInteger(canary) || canary < 0 || canary >= Math.max(1, replicas))
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `--canary must be a whole number from 1 to replicas - 1 (${replicas - 1}), not ${canary}`,
    );
  if (!revises)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      '--canary needs a change the pods act on (package, commands, data, resources…); this one changes none',
    );
}

/**
 * Whose band authority a change of a job's band or pool needs: its owner's (the caller's own
 * principal when the caller is the owner; otherwise the owner as a user without admin rights).
 */
function ownerPrincipal(record: JobRecord, caller: Principal): Principal {
  const owner = ownerOf(record);
  return caller.kind === 'user' && caller.user === owner ? caller : { user: owner, admin: false, kind: 'user' };
}
