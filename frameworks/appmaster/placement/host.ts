/**
 * One offer as a placement round sees it for one job: what is left of it, how many of the job's
 * pods are already on its agent, and whether the job avoids the host.
 */
import type { Offer, Resources } from '../../../proto/gen/galaxy/v1/common.js';

/** The pool of an offer whose agent names none. */
export const DEFAULT_POOL = 'default';

/** An offer during a placement round, from the point of view of one job. */
export interface Host {
  readonly offer: Offer;
  /** What remains of the offer after the pods placed in it earlier in this round. */
  readonly free: Resources;
  /** Pods of the job on the offer's agent: already there plus placed earlier in this round. */
  readonly podsOfJob: number;
  /** True when the job avoids this host after failures there. */
  readonly blacklisted: boolean;
}

/** The offer's pool; an agent without one is in {@link DEFAULT_POOL}. */
export function poolOf(offer: Offer): string {
  return offer.pool === '' ? DEFAULT_POOL : offer.pool;
}
