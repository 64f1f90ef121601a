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
import { addResources, cloneResources, subtractResources } from '../../../core/resources.js';
import { heldResources, offerWithoutHeld } from '../../../core/held-volumes.js';
import type { JobSpec } from '../spec/schema.js';
import { fitPod } from './fit.js';
import { MinHeap } from './min-heap.js';
import type { Host } from './host.js';
import { summarizeReasons, type PendingReason } from './pending.js';
import { podResources } from './resources.js';

export type { PendingReason } from './pending.js';

/** One pod the AppMaster wants placed. */
export interface PodDemand {
  readonly job: string;
  readonly podId: string;
  readonly spec: JobSpec;
  /**
   * The pod's persistent volumes are kept on this agent, on these disks (volume name → disk):
   * it goes nowhere else (docs/disks.md). `keys` are their volume ids: the bytes an offer holds
   * for them (`Offer.held_volumes`) are this pod's, and no other pod's.
   */
  readonly kept?: {
    readonly agentId: string;
    readonly disks: Readonly<Record<string, string>>;
    readonly keys?: readonly string[];
  };
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

/** An offer ranked for one job: its key as of when it was ranked. */
interface Ranked {
  readonly slot: Slot;
  readonly podsOfJob: number;
  readonly share: number;
}

/**
 * Places the pods, in order, into the offers; see the module comment for the ranking.
 *
 * Consecutive pods of one job with one spec are placed together from a heap of the offers ranked
 * for that job, so a pod costs a logarithm of the offers, not a scan of them. That gives the same
 * placement as judging every offer for every pod, because within such a run nothing gets better:
 * an offer's free resources and ports only shrink and the job's pods on an agent only grow. So an
 * offer whose key went stale (a pod went to its agent through another offer) can only rank lower,
 * and is ranked again; and one the pod does not fit will fit none of the run's later pods, and is
 * dropped.
 */
export function placePods(
  demands: readonly PodDemand[],
  offers: readonly Offer[],
  context: PlacementContext,
): Placement {
  // Bytes held for a kept volume are for its own pod only (see `ownHeld`).
  const slots: Slot[] = offers.map((offer) => ({ offer, free: cloneResources(offerWithoutHeld(offer)) }));
  const total = { cpus: sum(slots.map((s) => s.free.cpus)), mem: sum(slots.map((s) => s.free.mem)) };
  const placedHere = new Map<string, number>();
  const podsOfJob = (job: string, agentId: string): number =>
    context.podsOn(job, agentId) + (placedHere.get(agentKey(job, agentId)) ?? 0);
  const hostFor = (job: string, { offer, free }: Slot, own?: Resources): Host => ({
    offer,
    free: own ? addResources(free, own) : free,
    podsOfJob: podsOfJob(job, offer.agentId),
    blacklisted: context.blacklisted(job, offer.hostname),
  });
  const rank = (job: string, slot: Slot): Ranked => ({
    slot,
    podsOfJob: podsOfJob(job, slot.offer.agentId),
    share: freeShare(slot.free, total),
  });

  const assignments: Assignment[] = [];
  const pending = new Map<string, PendingReason[]>();
  for (let start = 0; start < demands.length;) {
    const first = demands[start] as PodDemand;
    let end = start + 1;
    // A pod whose volumes are kept on one agent is placed on its own: its hosts are not the run's.
    while (
      first.kept === undefined &&
      end < demands.length &&
      demands[end]?.job === first.job &&
      demands[end]?.spec === first.spec &&
      demands[end]?.kept === undefined
    )
      end += 1;
    const { job, spec, kept } = first;
    const need = podResources(spec, []);
    const eligible = slots.filter(
      (slot) =>
        (context.offerFits?.(job, slot.offer) ?? true) && (kept === undefined || slot.offer.agentId === kept.agentId),
    );
    const heap = new MinHeap<Ranked>(ranksBefore);
    for (const slot of eligible) heap.push(rank(job, slot));
    let next = start;
    while (next < end) {
      const top = heap.pop();
      if (top === undefined) break;
      const fresh = rank(job, top.slot);
      if (fresh.podsOfJob !== top.podsOfJob || fresh.share !== top.share) {
        heap.push(fresh);
        continue;
      }
      const own = ownHeld(top.slot.offer, kept);
      const fit = fitPod(spec, need, hostFor(job, top.slot, own), kept?.disks);
      if (!fit.ok) continue;
      const demand = demands[next] as PodDemand;
      next += 1;
      const { slot } = top;
      slot.free = subtractResources(slot.free, own ? subtractResources(fit.resources, own) : fit.resources);
      const key = agentKey(job, slot.offer.agentId);
      placedHere.set(key, (placedHere.get(key) ?? 0) + 1);
      assignments.push({
        podId: demand.podId,
        job,
        offerId: slot.offer.id,
        agentId: slot.offer.agentId,
        hostname: slot.offer.hostname,
        resources: fit.resources,
        ports: fit.ports,
      });
      heap.push(rank(job, slot));
    }
    // The job's first unplaced pod explains why: every offer failed it, each for a reason.
    if (next < end && !pending.has(job)) {
      const reasons = eligible.flatMap((slot) => {
        const fit = fitPod(spec, need, hostFor(job, slot, ownHeld(slot.offer, kept)), kept?.disks);
        return fit.ok ? [] : [fit.reason];
      });
      pending.set(
        job,
        kept !== undefined && reasons.length === 0
          ? [{ reason: `persistent volumes are kept on agent ${kept.agentId}, which offers nothing`, hosts: 0 }]
          : summarizeReasons(reasons),
      );
    }
    start = end;
  }

  const used = new Set(assignments.map((a) => a.offerId));
  return { assignments, pending, unused: offers.filter((o) => !used.has(o.id)).map((o) => o.id) };
}

/** The bytes `offer` holds for the kept volumes of a pod kept on its agent (undefined: none). */
function ownHeld(offer: Offer, kept: PodDemand['kept']): Resources | undefined {
  if (kept?.keys === undefined || kept.agentId !== offer.agentId) return undefined;
  const own = offer.heldVolumes.filter((v) => kept.keys?.includes(v.volumeId));
  return own.length > 0 ? heldResources(own) : undefined;
}

/** Spreading first, then room left, then the offer id. */
function ranksBefore(a: Ranked, b: Ranked): boolean {
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
