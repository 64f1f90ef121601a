/**
 * The AppMaster's side of preemption: a pod of band monitoring, production (`service`) or batch
 * that has been pending for lack of resources longer than {@link PENDING_BEFORE_PREEMPT_MS} makes
 * the master preempt lower bands for it — one request outstanding per pod, and at most
 * {@link MAX_REQUESTS_IN_FLIGHT} over all pods (each is a search for victims on the master). The
 * master then offers the freed resources to the AppMaster alone, and placement takes it from there.
 * A request that fails because the master cannot be reached or no longer knows the AppMaster (its
 * subscription was lost) pauses every pod's requests: 17,000 pending pods asking one by one every
 * 5 s were 78,000 failed requests in two minutes to a master that had dropped the AppMaster
 * (`bench:scale`, 6,000 agents).
 */
import { GalaxyError } from '../../core/errors.js';
import { Band, bandOf } from '../../core/bands.js';
import type { Logger } from '../../core/logger.js';
import type { PreemptRequest } from '../sdk/driver.js';
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import type { JobState } from './job-state.js';
import type { JobSpec } from './spec/schema.js';
import { NO_OFFERS } from './placement/pending.js';
import { podResources } from './placement/resources.js';
import { ownerOf } from './admission.js';
import { ownerRole } from '../sdk/owner-roles.js';

/** A pod pending this long for lack of resources asks for a preemption. */
export const PENDING_BEFORE_PREEMPT_MS = 2000;
/** After a granted request, the pod waits this long for the set-aside offer before asking again. */
const GRANTED_WAIT_MS = 20_000;
/** After a refused or failed request, the pod asks again after this long. */
const REFUSED_WAIT_MS = 5000;
/** Preemption requests outstanding at once, over all pods. */
export const MAX_REQUESTS_IN_FLIGHT = 16;
/** Errors of the AppMaster's link to the master, not of one pod's request: every request waits. */
const LINK_ERRORS: ReadonlySet<string> = new Set(['GALAXY_E_UNAVAILABLE', 'GALAXY_E_FRAMEWORK_UNKNOWN']);

/** True when a job's pending reasons say resources are short (not labels, pools or blacklists). */
export function lacksResources(reasons: readonly { readonly reason: string }[]): boolean {
  return (
    reasons.length === 0 ||
    reasons.some((r) => r.reason === NO_OFFERS || r.reason.startsWith('insufficient') || r.reason.includes('port'))
  );
}

/** True when pods of `band` ask the master to preempt lower bands (all but best-effort). */
export function preemptingBand(band: Band): boolean {
  return band !== Band.BAND_BEST_EFFORT;
}

/** The PREEMPT a pod of `spec` asks for, made in the job owner's role (whose band authority counts). */
export function podPreemptRequest(spec: JobSpec, owner: string, requestId: string, reason: string): PreemptRequest {
  return {
    requestId,
    resources: podResources(spec, []),
    pool: spec.pool,
    labels: spec.labels,
    band: bandOf(spec.band),
    // The owner's role asks: the master checks the owner's band authority in the pool.
    role: ownerRole(owner),
    reason,
  };
}

/** Pending pods' preemption requests. */
export class PodPreemption {
  /** Pod id → when it was first seen pending (ms). */
  private readonly pendingSince = new Map<string, number>();
  /** Pod id → no new request before this time (ms): one outstanding per pod. */
  private readonly waitUntil = new Map<string, number>();
  /** Requests sent and not answered yet. */
  private inFlight = 0;
  /** No request before this time (ms): the last one failed for a reason of the link, not the pod. */
  private pausedUntil = 0;

  constructor(
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  /** Called on every tick: asks for room for pods pending too long. */
  step(driver: SchedulerDriver | undefined, jobs: Iterable<JobState>): void {
    const now = this.now();
    const seen = new Set<string>();
    for (const job of jobs) {
      if (job.record.state !== 'running') continue;
      for (const pod of job.pendingPods()) {
        const podId = pod.record.podId;
        seen.add(podId);
        const since = this.pendingSince.get(podId) ?? now;
        this.pendingSince.set(podId, since);
        const spec = job.specOf(pod.record.revision);
        const band = bandOf(spec.band);
        if (!driver || !preemptingBand(band) || pod.runtime.removing) continue;
        if (now - since < PENDING_BEFORE_PREEMPT_MS || (this.waitUntil.get(podId) ?? 0) > now) continue;
        if (!lacksResources(job.pending)) continue;
        if (this.inFlight >= MAX_REQUESTS_IN_FLIGHT || this.pausedUntil > now) continue;
        this.waitUntil.set(podId, now + GRANTED_WAIT_MS);
        this.inFlight += 1;
        const requestId = `${job.record.name}/${podId}`;
        const reason = `pod ${podId} pending ${Math.round((now - since) / 1000)} s: ${job.pending.map((r) => r.reason).join('; ') || 'no room'}`;
        driver.preempt(podPreemptRequest(spec, ownerOf(job.record), requestId, reason)).then(
          (plan) => {
            this.inFlight -= 1;
            if (plan.granted) {
              this.log.info(
                { request: requestId, agent: plan.agentId, victims: plan.victims.map((v) => v.taskId) },
                'preemption granted',
              );
            } else {
              this.waitUntil.set(podId, this.now() + REFUSED_WAIT_MS);
              this.log.debug({ request: requestId, refusal: plan.refusal }, 'preemption refused');
            }
          },
          (error: unknown) => {
            this.inFlight -= 1;
            this.waitUntil.set(podId, this.now() + REFUSED_WAIT_MS);
            if (error instanceof GalaxyError && LINK_ERRORS.has(error.code))
              this.pausedUntil = Math.max(this.pausedUntil, this.now() + REFUSED_WAIT_MS);
            this.log.warn({ request: requestId, err: String(error) }, 'preemption request failed');
          },
        );
      }
    }
    for (const podId of [...this.pendingSince.keys()]) {
      if (seen.has(podId)) continue;
      this.pendingSince.delete(podId);
      this.waitUntil.delete(podId);
    }
  }
}
