/**
 * The rolling update, carried out: a new revision starts an update, each step does what the pure
 * planner (`update.ts`, through the `updatePlanned` hook) says, and users pause, continue, roll
 * back or cancel it. Pods move to the target revision in place, or with a new container when
 * their resources change.
 */
import { GalaxyError } from '../../core/errors.js';
import { UpdateControl } from '../../proto/gen/galaxy/v1/appmaster.js';
import { ownerOf } from './admission.js';
import type { AppMasterContext } from './context.js';
import type { JobState } from './job-state.js';
import type { Pod, UpdateRecord } from './model.js';
import { classifyChange, type SpecChange } from './spec/diff.js';
import type { JobSpec } from './spec/schema.js';
import { newUpdate, pauseText, planUpdate } from './update.js';
import { addRevision, keptRevisions } from './history.js';

/** Starts, steps and controls jobs' rolling updates. */
export class Rollout {
  constructor(private readonly ctx: AppMasterContext) {}

  /**
   * `spec` becomes the job's: in the current revision when the change needs nothing of the pods
   * (`none`, `scale`); otherwise as a new revision that an update rolls out.
   */
  revise(job: JobState, spec: JobSpec, change: SpecChange, by: { user: string; canary?: number; from?: number }): void {
    const record = job.record;
    if (change.kind === 'none' || change.kind === 'scale') {
      record.specs[record.revision] = spec;
      return;
    }
    const canary = by.canary ?? 0;
    const next = Math.max(...Object.keys(record.specs).map(Number), ...keptRevisions(record)) + 1;
    record.specs[next] = spec;
    const kind = by.from === undefined ? change.kind : 'rollback';
    addRevision(
      record,
      { revision: next, at: this.ctx.now(), user: by.user, kind, fields: change.fields, from: by.from },
      spec.deploy.keepRevisions,
    );
    record.update = newUpdate(record.revision, next, change.kind, this.ctx.now(), { canary });
    record.revision = next;
    this.ctx.log.info({ job: spec.name, revision: next, kind: change.kind, fields: change.fields }, 'update started');
  }

  /**
   * Pause, continue, roll back, cancel, promote or abort the job's update (GALAXY_E_JOB_STATE when
   * there is none to). Failed pods stay listed across all of them: a continue only forgives them.
   */
  control(job: JobState, control: UpdateControl): void {
    const name = job.record.name;
    const update = job.record.update;
    if (control === UpdateControl.UPDATE_ROLLBACK) {
      this.rollback(job, 'by user');
      return;
    }
    if (!update) throw new GalaxyError('GALAXY_E_JOB_STATE', `job ${name} has no update in progress`);
    if (control === UpdateControl.UPDATE_PROMOTE || control === UpdateControl.UPDATE_ABORT) {
      if (!update.canary || update.rollingBack)
        throw new GalaxyError(
          'GALAXY_E_JOB_STATE',
          `the update of job ${name} is not a canary update; use continue, rollback or cancel`,
        );
      if (control === UpdateControl.UPDATE_ABORT) {
        this.rollback(job, 'canary aborted');
        return;
      }
      if (update.promoted) throw new GalaxyError('GALAXY_E_JOB_STATE', `the canary update of job ${name} is promoted`);
      update.promoted = true;
      if (update.pause?.reason === 'canary') update.pause = undefined;
      return;
    }
    if (control === UpdateControl.UPDATE_PAUSE) {
      update.pause = { reason: 'user' };
    } else if (control === UpdateControl.UPDATE_CONTINUE) {
      if (!update.pause) throw new GalaxyError('GALAXY_E_JOB_STATE', `the update of job ${name} is not paused`);
      if (update.pause.reason === 'canary')
        throw new GalaxyError(
          'GALAXY_E_JOB_STATE',
          `the update of job ${name} holds its canaries: promote it to roll the rest, or abort it`,
        );
      if (update.pause.reason === 'breakpoint') update.breakpointPassed = true;
      if (update.pause.reason === 'max-failures') update.forgiven = update.failed.length;
      update.pause = undefined;
    } else if (control === UpdateControl.UPDATE_CANCEL) {
      job.record.update = undefined;
    } else {
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'control must be pause, continue, rollback or cancel');
    }
  }

  /** Moves the job's update along: carries out its plan (see update.ts), as the `updatePlanned` taps leave it. */
  step(job: JobState): void {
    const update = job.record.update;
    if (!update) return;
    const { book, hooks, log, events } = this.ctx;
    const about = { user: ownerOf(job.record), actor: 'appmaster', job: job.record.name };
    const plan = hooks.updatePlanned.call(planUpdate(job.record, job.pods(), this.ctx.now()), job);
    for (const podId of plan.newlyFailed) {
      // A failure of the new revision counts against the revision (the update's failures), not the host.
      update.failed.push(podId);
      log.warn({ job: job.record.name, pod: podId, revision: update.to }, 'pod failed the update');
      events.publish({ ...about, kind: 'pod.update-failed', pod: podId, state: `revision ${update.to}` });
    }
    if (plan.failed) {
      if (job.specOf(update.to).deploy.autoRollback && !update.rollingBack) {
        this.rollback(job, 'max failures');
        events.publish({ ...about, kind: 'job.rolled-back', reason: 'max failures', message: 'automatic rollback' });
      } else {
        update.pause ??= { reason: 'max-failures' };
        events.publish({ ...about, kind: 'job.paused', reason: 'max failures' });
      }
    } else if (plan.pause !== undefined) {
      update.pause = plan.pause;
      log.info({ job: job.record.name, reason: pauseText(plan.pause) }, 'update paused');
      events.publish({ ...about, kind: 'job.paused', reason: pauseText(plan.pause) });
    } else if (plan.done) {
      log.info({ job: job.record.name, revision: update.to, rolledBack: update.rollingBack }, 'update done');
      events.publish({
        ...about,
        kind: update.rollingBack ? 'job.rollback-done' : 'job.update-done',
        state: `revision ${update.to}`,
        message: `${job.record.pods.length} pods at revision ${update.to}`,
      });
      job.record.update = undefined;
      job.pruneSpecs();
    }
    for (const podId of plan.retarget) this.retarget(job, job.pod(podId), update);
    for (const podId of plan.retire) this.ctx.pods.retire(job, job.pod(podId));
    for (let n = 0; n < plan.add; n += 1) job.addPod(this.ctx.now());
    if (plan.add > 0) this.ctx.gate.want();
    const moves = plan.newlyFailed.length + plan.retarget.length + plan.retire.length + plan.add;
    if (moves > 0 || plan.failed || plan.pause !== undefined || plan.done) {
      book.touch(job);
      book.notify(job);
    }
  }

  /** Starts a rollback to the revision before the current one. */
  rollback(job: JobState, why: string): void {
    const record = job.record;
    const back = record.update?.from ?? job.previousRevision();
    if (back === undefined || back === record.revision)
      throw new GalaxyError('GALAXY_E_JOB_STATE', `job ${record.name} has no earlier revision to roll back to`);
    const kind = classifyChange(job.specOf(record.revision), job.specOf(back)).kind;
    const failed = record.update?.failed ?? [];
    record.update = newUpdate(
      record.revision,
      back,
      kind === 'reload' || kind === 'replace' ? kind : 'rebuild',
      this.ctx.now(),
      {
        rollingBack: true,
      },
    );
    // The pods that failed the update stay listed (and forgiven: the rollback counts its own).
    record.update.failed = [...failed];
    record.update.forgiven = failed.length;
    record.revision = back;
    this.ctx.log.warn({ job: record.name, to: back, why }, 'rolling back');
  }

  /** Gives a pod the update's target revision: in place, or with a new container when resources changed. */
  private retarget(job: JobState, pod: Pod, update: UpdateRecord): void {
    pod.record.revision = update.to;
    pod.record.retargetedAt = this.ctx.now();
    pod.runtime.healthySince = 0;
    const replace =
      update.kind === 'replace' &&
      pod.record.taskId !== '' &&
      classifyChange(job.specOf(pod.record.containerRevision), job.specOf(update.to)).kind === 'replace';
    if (replace) this.ctx.pods.kill(pod);
  }
}
