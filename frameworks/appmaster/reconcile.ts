/**
 * The reconcile tick, every 500 ms and after a drain: each job gets its number of pods, its update
 * is stepped, the `reconcilingJob` taps run (drains), pods stuck deploying or whose liveness
 * restarts keep failing are replaced, and lost KILLs sent again; then offers are wanted when a pod waits, the `reconciled` taps run
 * (preemption requests), and changed jobs are stored.
 */
import type { AppMasterContext } from './context.js';
import type { JobState } from './job-state.js';
import { livenessExhausted } from './liveness.js';
import { podPhase } from './model.js';
import type { Rollout } from './rollout.js';
import { rollsBySurge, surgeLimits } from './surge.js';

/** A KILL is sent again when the task still lives this long after. */
export const KILL_RETRY_MS = 15_000;

/** Converges every job to its spec. */
export class Reconciler {
  constructor(
    private readonly ctx: AppMasterContext,
    private readonly rollout: Rollout,
  ) {}

  /** One round over every job. */
  tick(): void {
    const { book, hooks, log, pods, gate } = this.ctx;
    const now = this.ctx.now();
    const jobs = book.all();
    for (const job of jobs) {
      if (job.record.state === 'running') this.replicas(job);
      this.rollout.step(job);
      if (job.forgetHostFailures(now)) book.touch(job);
      hooks.reconcilingJob.call(job);
      const timeoutMs = job.spec.deploy.deployTimeoutS * 1000;
      for (const pod of job.pods()) {
        const phase = podPhase(pod);
        if (pod.runtime.killing && now - pod.runtime.killSentAt > KILL_RETRY_MS) pods.sendKill(pod);
        if (livenessExhausted(pod, job.specOf(pod.record.revision))) {
          // The service, not the host, keeps failing: a new container, not a host failure.
          log.warn(
            { job: job.record.name, pod: pod.record.podId },
            'liveness restarts keep failing; replacing the pod',
          );
          pods.kill(pod);
          book.touch(job);
          continue;
        }
        // Deploying since its launch or since its last in-place move, whichever is later: an in-place
        // rebuild long after the launch is not stuck.
        const since = Math.max(pod.record.launchedAt, pod.record.retargetedAt);
        if ((phase === 'launching' || phase === 'deploying') && now - since > timeoutMs) {
          log.warn({ job: job.record.name, pod: pod.record.podId }, 'pod stuck deploying; replacing it elsewhere');
          // Only a revision that runs elsewhere makes it the host's failure; else it is the revision's.
          if (job.revisionProven(pod.record.revision)) job.countHostFailure(pod.record.hostname, now);
          pods.kill(pod);
          book.touch(job);
        }
      }
    }
    if (jobs.some((j) => j.pendingPods().length > 0)) gate.want();
    hooks.reconciled.call(jobs);
    book.flush();
  }

  /** Adds or retires pods until the job has `replicas` live ones (none once it is stopped). */
  replicas(job: JobState): void {
    const want = job.record.state === 'running' ? job.spec.replicas : 0;
    const live = job.pods().filter((p) => !p.runtime.removing);
    // Rolling by surge, the update runs up to maxSurge pods beyond replicas and retires the extra ones itself.
    const update = job.record.update;
    const deploy = job.spec.deploy;
    const most =
      update && want > 0 && rollsBySurge(deploy) ? want + surgeLimits(deploy, job.spec.replicas).surge : want;
    let changed = false;
    for (let n = live.length; n < want; n += 1) {
      job.addPod(this.ctx.now());
      changed = true;
    }
    if (live.length > most) {
      const extra = live
        .sort(
          (a, b) => Number(a.record.taskId !== '') - Number(b.record.taskId !== '') || b.record.index - a.record.index,
        )
        .slice(0, live.length - most);
      for (const pod of extra) this.ctx.pods.retire(job, pod);
      changed = true;
    }
    if (changed) {
      this.ctx.book.touch(job);
      this.ctx.gate.want();
    }
  }
}
