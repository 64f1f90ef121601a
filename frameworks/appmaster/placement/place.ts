/**
 * Pod placement: matches the pods the AppMaster wants to launch to the offers it holds. Pure
 * logic; the scheduler turns the result into LAUNCH operations, declines the unused offers and
 * shows the pending reasons in `job show`.
 *
 * Pods are placed in the order given, each on the feasible offer that spreads its job best:
 * fewest pods of the job on that agent, then the most cpu and memory left, then the lowest offer
 * id, so the same input always gives the same placement.
 */
import type { Offer, Resources } from '../../../proto/gen/galaxy/v1/common.js';
import { cloneResources, emptyResources, subtractResources } from '../../../core/resources.js';
import type { JobSpec } from '../spec/schema.js';
import { fitPod, type Fit } from './fit.js';
import type { Host } from './host.js';
import { summarizeReasons, type PendingReason } from './pending.js';
import { podResources } from './resources.js';

export type { PendingReason } from './pending.js';

/** One pod the AppMaster wants placed. */
export interface PodDemand {
  readonly job: string;
  readonly podId: string;
  readonly spec: JobSpec;
}

/** What the AppMaster knows about pods already placed and hosts to avoid. */
export interface PlacementContext {
  /** Pods of `job` already on `agentId` (running or launching), for maxPerHost and spreading. */
  podsOn(job: string, agentId: string): number;
  /** True when the job avoids this host (blacklisted after failures). */
  blacklisted(job: string, hostname: string): boolean;
  /**
   * True when a pod of `job` may go into `offer` at all: a framework acting for users places a
   * job only into offers of its owner's role. Default: every offer.
   */
  offerFits?(job: string, offer: Offer): boolean;
}

/** One pod placed in one offer. */
export interface Assignment {
  readonly podId: string;
  readonly job: string;
  readonly offerId: string;
  readonly agentId: string;
  readonly hostname: string;
  /** What the pod reserves from the offer, its port numbers included. */
  readonly resources: Resources;
  /** Port name → number. */
  readonly ports: Record<string, number>;
}

/** The outcome of one placement round. */
export interface Placement {
  readonly assignments: Assignment[];
  /** Per job: why its unplaced pods could not go anywhere, one reason per offered host. */
  readonly pending: Map<string, PendingReason[]>;
  /** Ids of offers with nothing placed in them, in the order given. */
  readonly unused: string[];
}

/** An offer and what is left of it as the round goes on. */
interface Slot {
  readonly offer: Offer;
  free: Resources;
}

/** A feasible offer for one pod, with what ranks it. */
interface Candidate {
  readonly slot: Slot;
  readonly fit: Extract<Fit, { ok: true }>;
  readonly podsOfJob: number;
  readonly share: number;
}

/** Places the pods, in order, into the offers; see the module comment for the ranking. */
export function placePods(
  demands: readonly PodDemand[],
  offers: readonly Offer[],
  context: PlacementContext,
): Placement {
  const slots: Slot[] = offers.map((offer) => ({ offer, free: cloneResources(offer.resources ?? emptyResources()) }));
  const total = { cpus: sum(slots.map((s) => s.free.cpus)), mem: sum(slots.map((s) => s.free.mem)) };
  const placedHere = new Map<string, number>();
  const hostFor = (job: string, { offer, free }: Slot): Host => ({
    offer,
    free,
    podsOfJob: context.podsOn(job, offer.agentId) + (placedHere.get(agentKey(job, offer.agentId)) ?? 0),
    blacklisted: context.blacklisted(job, offer.hostname),
  });

  const assignments: Assignment[] = [];
  const pending = new Map<string, PendingReason[]>();
  for (const demand of demands) {
    const need = podResources(demand.spec, []);
    const judged = slots
      .filter((slot) => context.offerFits?.(demand.job, slot.offer) ?? true)
      .map((slot) => {
        const host = hostFor(demand.job, slot);
        return { slot, host, fit: fitPod(demand.spec, need, host) };
      });
    let best: Candidate | undefined;
    for (const { slot, host, fit } of judged) {
      if (!fit.ok) continue;
      const candidate: Candidate = { slot, fit, podsOfJob: host.podsOfJob, share: freeShare(host.free, total) };
      if (best === undefined || ranksBefore(candidate, best)) best = candidate;
    }
    if (best === undefined) {
      // The job's first unplaced pod explains why: every offer failed it, each for a reason.
      if (!pending.has(demand.job)) {
        pending.set(demand.job, summarizeReasons(judged.flatMap(({ fit }) => (fit.ok ? [] : [fit.reason]))));
      }
      continue;
    }
    const { slot, fit } = best;
    slot.free = subtractResources(slot.free, fit.resources);
    const key = agentKey(demand.job, slot.offer.agentId);
    placedHere.set(key, (placedHere.get(key) ?? 0) + 1);
    assignments.push({
      podId: demand.podId,
      job: demand.job,
      offerId: slot.offer.id,
      agentId: slot.offer.agentId,
      hostname: slot.offer.hostname,
      resources: fit.resources,
      ports: fit.ports,
    });
  }

  const used = new Set(assignments.map((a) => a.offerId));
  return { assignments, pending, unused: offers.filter((o) => !used.has(o.id)).map((o) => o.id) };
}

/** Spreading first, then room left, then the offer id. */
function ranksBefore(a: Candidate, b: Candidate): boolean {
  if (a.podsOfJob !== b.podsOfJob) return a.podsOfJob < b.podsOfJob;
  if (a.share !== b.share) return a.share > b.share;
  return a.slot.offer.id < b.slot.offer.id;
}

/**
 * The cpu and memory an offer has left, each as a share of all the offers of the round, so that
 * cores and bytes weigh alike and a big free host outranks a small one.
 */
function freeShare(free: Resources, total: { cpus: number; mem: number }): number {
  return (total.cpus > 0 ? free.cpus / total.cpus : 0) + (total.mem > 0 ? free.mem / total.mem : 0);
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function agentKey(job: string, agentId: string): string {
  return `${job}\u0000${agentId}`;
}
