/**
 * Shapes for what multi-tenancy adds to DRF: quota guarantees and limits, and reservations.
 * NOT ENFORCED YET — these types fix where the policy plugs into {@link DrfAllocator} so that
 * adding it changes one stage of the pass, not the sorters or the ledger.
 *
 * How Mesos (and later Galaxy) runs a pass with tenancy:
 *
 * 1. **Reservations**: resources reserved on an agent for a role are offered to frameworks of
 *    that role (or its descendants) only, and count towards its share when allocated.
 * 2. **Guarantees first**: roles whose allocation is below their quota guarantee are walked
 *    before everyone else, in DRF order, until the guarantee is met; unreserved resources set
 *    aside for unmet guarantees of other roles are not handed out in stage 3.
 * 3. **Fair share**: the DRF walk that exists today, with every offer cut to the role's
 *    headroom under its quota limit, so a limit is never exceeded.
 */
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';

/** A role's quota. */
export interface RoleQuota {
  readonly role: string;
  /** Resources the role is offered ahead of fair sharing until it holds them. */
  readonly guarantee: Resources;
  /** Resources the role (its whole subtree) may hold at most; absent means no limit. */
  readonly limit?: Resources;
}

/** Resources of one agent reserved for one role. */
export interface Reservation {
  readonly agentId: string;
  readonly role: string;
  readonly resources: Resources;
}

/** What the DRF pass will ask of a tenancy policy (see the stages above). */
export interface TenancyPolicy {
  /** Roles still below their guarantee, for stage 2. */
  rolesBelowGuarantee(): Iterable<string>;
  /** The part of `free` that `role` may take without exceeding its limit, for stage 3. */
  headroom(role: string, free: Resources): Resources;
  /** What on the agent is reserved for `role` (or undefined), for stage 1. */
  reservedFor(agentId: string, role: string): Resources | undefined;
}
