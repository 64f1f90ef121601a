/**
 * `galaxy job plan`: a dry run of a spec against the live AppMaster. The kind of change per pod
 * (none, reload, rebuild in place, replace, new, remove), where the pods that would need a new
 * container would fit in recent offers (new ones when those seen are old; and why not, with the placer's own reasons), and
 * what the owner's quota says. Pure but for its inputs: it copies nothing into the job. Which tasks
 * the master would preempt for the pods with no room is asked by the verb (`planPreemptions`).
 */
import { bandOf } from '../../core/bands.js';
import type { JobPlan, PodChange } from '../../proto/gen/galaxy/v1/appmaster.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { JobState } from './job-state.js';
import { placePods, type PodDemand } from './placement/place.js';
import { preemptingBand } from './preemption.js';
import { classifyChange } from './spec/diff.js';
import type { JobSpec } from './spec/schema.js';

/** Offers last seen, per agent, to plan against. */
export class LastOffers {
  private readonly byAgent = new Map<string, { offer: Offer; at: number }>();
  private waiters: (() => void)[] = [];
  /** When {@link renew} last forgot what was seen (-1: never). */
  private renewedAt = -1;

  /** Offers received at `now`. */
  record(offers: readonly Offer[], now: number): void {
    for (const offer of offers) this.byAgent.set(offer.agentId, { offer, at: now });
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Forgets what was seen and waits for the next offers, at most `timeoutMs` (a full cluster sends
   * none: nothing then fits, which is the truth). Offers seen a while ago say nothing of what other
   * frameworks took since: a plan against them would place pods where there is no room any more.
   */
  async renew(timeoutMs: number, now: number): Promise<void> {
    this.byAgent.clear();
    this.renewedAt = now;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  /**
   * The newest offer of each agent, and the age in seconds of the oldest; with none, the time since
   * the last renewal found none (-1: never renewed).
   */
  snapshot(now: number): { offers: Offer[]; ageS: number } {
    const all = [...this.byAgent.values()];
    if (all.length === 0) return { offers: [], ageS: this.renewedAt < 0 ? -1 : (now - this.renewedAt) / 1000 };
    return { offers: all.map((a) => a.offer), ageS: (now - Math.min(...all.map((a) => a.at))) / 1000 };
  }
}

/** What planning needs besides the spec. */
export interface PlanInput {
  /** The job as it is (undefined: the spec would be a new job). */
  readonly job: JobState | undefined;
  readonly spec: JobSpec;
  readonly offers: readonly Offer[];
  readonly offersAgeS: number;
  /** Resources over the owner's quota were the spec admitted (none: it fits). */
  readonly quotaOver: readonly string[];
  /** True when `hostname` is blacklisted for the job. */
  readonly blacklisted: (hostname: string) => boolean;
}

/** The plan of `input.spec`. */
export function planJob(input: PlanInput): JobPlan {
  const { job, spec } = input;
  const change = job ? classifyChange(job.spec, spec) : { kind: 'submit', fields: [] };
  const pods: PodChange[] = [];
  const needing: PodDemand[] = [];
  const live = job ? job.pods().filter((p) => !p.runtime.removing) : [];
  live.forEach((pod, i) => {
    const record = pod.record;
    if (i >= spec.replicas) {
      pods.push({ podId: record.podId, hostname: record.hostname, change: 'remove' });
      return;
    }
    const kind = job ? classifyChange(job.specOf(record.containerRevision), spec).kind : 'none';
    const inPlace = job ? classifyChange(job.specOf(record.revision), spec).kind : 'none';
    const podChange = kind === 'replace' ? 'replace' : inPlace === 'scale' ? 'none' : inPlace;
    pods.push({ podId: record.podId, hostname: record.hostname, change: podChange });
    if (podChange === 'replace' || record.taskId === '') needing.push({ job: spec.name, podId: record.podId, spec });
  });
  for (let i = live.length; i < spec.replicas; i += 1) {
    const podId = `(new ${i - live.length + 1})`;
    pods.push({ podId, hostname: '', change: 'new' });
    needing.push({ job: spec.name, podId, spec });
  }
  // The pods being replaced free what they hold only once they stop: plan against what is offered.
  const placement = placePods(needing, input.offers, {
    podsOn: (_name, agentId) =>
      live.filter((p) => p.record.agentId === agentId && !needing.some((n) => n.podId === p.record.podId)).length,
    blacklisted: (_name, hostname) => input.blacklisted(hostname),
    offerFits: () => true,
  });
  const placed = new Map(placement.assignments.map((a) => [a.podId, a.hostname]));
  const unplaced = placement.pending.get(spec.name) ?? [];
  const short = needing.length > placed.size;
  const preempts = preemptingBand(bandOf(spec.band));
  return {
    name: spec.name,
    creates: job === undefined,
    kind: change.kind,
    fields: change.fields,
    pods,
    placements: needing.map((n) => ({ podId: n.podId, hostname: placed.get(n.podId) ?? '' })),
    unplaced: short ? unplaced : [],
    offersAgeS: input.offersAgeS,
    quota: input.quotaOver.length === 0 ? ['ok'] : [...input.quotaOver],
    preemption: !short
      ? 'none needed'
      : preempts
        ? `${needing.length - placed.size} pod(s) would wait; after 2 s pending for lack of resources each asks the master to preempt lower-band tasks (which ones the master decides then; "would preempt" is its answer now)`
        : `${needing.length - placed.size} pod(s) would wait: band ${spec.band} does not preempt`,
    // Asked of the master by the verb (planPreemptions): planning itself stays pure.
    wouldPreempt: [],
    wouldPreemptSkipped: 0,
  };
}
