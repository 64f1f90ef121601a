/**
 * Quota accounting for one allocation pass (Mesos' quota semantics, as of 1.9).
 *
 * - A role's **consumption** is what its subtree holds of unreserved resources plus everything
 *   reserved for roles of its subtree, allocated or not.
 * - **Limit**: an unreserved allocation to role R is cut so that no quota role on R's path
 *   (R itself and its ancestors) passes its limit. Reserved resources are not cut: they are
 *   already counted.
 * - **Guarantee**: a role's unmet guarantee is `guarantee − consumption` (floored at 0). The
 *   **required headroom** is the sum of unmet guarantees of the top-most guaranteed roles (a
 *   child's guarantee is taken to be part of its parent's); it is held back from everyone but
 *   the roles it is held for, whether or not they have a framework connected.
 *
 * An unreserved allocation to R on field i is therefore at most
 * `min(free_i, unmetFor(R)_i + max(0, spare_i), limitHeadroom(R)_i)` where `spare = cluster
 * unreserved free − required headroom`; `unmetFor(R)` is the smallest unmet guarantee on R's
 * path. When guarantees together exceed what is free, roles below them are served in DRF order
 * up to their own unmet guarantee (guarantees are not checked against the cluster's size).
 *
 * Disk also counts **per medium** (`ssd`, `hdd`, `tmpfs`: bytes of named disks of that medium,
 * docs/disks.md) beside the scalars, with the same rules: fields 4–6 of every vector here are the
 * media in the order of `DISK_MEDIA`. Named disks cannot be reserved, so their consumption is
 * what frameworks hold of them.
 */
import { DISK_MEDIA } from '../../core/disks.js';
import { GalaxyError } from '../../core/errors.js';
import { checkRole } from '../../core/validate.js';
import type { Quota, QuotaAmounts, RoleQuota } from '../allocator.js';
import type { Ledger } from './ledger.js';
import { freeByMedium, MEDIA_OFFSET } from './media.js';
import { withinRole } from './reservations.js';

/** The fields a quota counts: the scalars, then bytes of disk per medium. */
export const QUOTA_FIELDS = ['cpus', 'mem', 'disk', 'gpus', ...DISK_MEDIA] as const;
const N = QUOTA_FIELDS.length;

interface Entry {
  readonly quota: RoleQuota;
  /** 0 where absent. */
  readonly guarantee: Float64Array;
  /** Infinity where absent. */
  readonly limit: Float64Array;
  readonly guaranteed: boolean;
  readonly limited: boolean;
  /** Recomputed per pass, then kept current as the pass allocates. */
  readonly consumed: Float64Array;
  /** True when no ancestor has a guarantee: its unmet guarantee counts in the required headroom. */
  topMost: boolean;
}

function amounts(q: QuotaAmounts | undefined, absent: number, where: string): Float64Array {
  return Float64Array.from(QUOTA_FIELDS, (name) => {
    const v = q?.[name];
    if (v === undefined) return absent;
    if (!Number.isSafeInteger(v) || v < 0)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${where}.${name} must be a non-negative integer, got ${v}`);
    return v;
  });
}

/** The quotas of an allocator and their accounting during a pass. */
export class QuotaBook {
  private readonly entries = new Map<string, Entry>();
  /** Cluster unreserved free minus the required headroom, per field (may be negative). */
  readonly spare = new Float64Array(N);
  private readonly scratch = new Float64Array(N);

  /** True when at least one quota is set. */
  get size(): number {
    return this.entries.size;
  }

  /** Sets (replaces) a role's quota; throws a coded error, changing nothing, when it is malformed. */
  set(role: string, quota: Quota): void {
    checkRole(role);
    if (role === '*') throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'role * cannot have a quota');
    const guarantee = amounts(quota.guarantee, 0, `quota of ${role}: guarantee`);
    const limit = amounts(quota.limit, Infinity, `quota of ${role}: limit`);
    const over = QUOTA_FIELDS.find((_, i) => (guarantee[i] ?? 0) > (limit[i] ?? Infinity));
    if (over)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `quota of ${role}: the guarantee of ${over} exceeds its limit`,
      );
    const copy: RoleQuota = {
      role,
      ...(quota.guarantee ? { guarantee: { ...quota.guarantee } } : {}),
      ...(quota.limit ? { limit: { ...quota.limit } } : {}),
    };
    this.entries.set(role, {
      quota: copy,
      guarantee,
      limit,
      guaranteed: guarantee.some((v) => v > 0),
      limited: limit.some((v) => v !== Infinity),
      consumed: new Float64Array(N),
      topMost: true,
    });
    this.markTopMost();
  }

  /** Removes a role's quota. */
  remove(role: string): void {
    if (this.entries.delete(role)) this.markTopMost();
  }

  /** Every quota. */
  list(): RoleQuota[] {
    return [...this.entries.values()].map((e) => e.quota);
  }

  /** True when some role still has an unmet guarantee (valid after {@link QuotaBook.beginPass}). */
  anyUnmet(): boolean {
    for (const e of this.entries.values()) if (e.guaranteed && this.unmetOf(e)) return true;
    return false;
  }

  /**
   * Recomputes every role's consumption from the ledger and the spare resources from the active
   * agents' unreserved free resources.
   */
  beginPass(ledger: Ledger): void {
    const free = this.scratch;
    this.spare.fill(0);
    for (const agent of ledger.agents) {
      if (!agent?.active) continue;
      ledger.unreservedFree(agent, free);
      freeByMedium(agent, free, MEDIA_OFFSET);
      for (let i = 0; i < N; i++) this.spare[i] = (this.spare[i] ?? 0) + (free[i] ?? 0);
    }
    for (const [role, e] of this.entries) {
      e.consumed.fill(0);
      for (const framework of ledger.frameworks.values()) {
        if (!withinRole(framework.role, role)) continue;
        for (let i = 0; i < MEDIA_OFFSET; i++)
          e.consumed[i] = (e.consumed[i] ?? 0) + (framework.allocated[i] ?? 0) - (framework.reservedAllocated[i] ?? 0);
        for (let m = 0; m < DISK_MEDIA.length; m++)
          e.consumed[MEDIA_OFFSET + m] = (e.consumed[MEDIA_OFFSET + m] ?? 0) + (framework.mediaAllocated[m] ?? 0);
      }
      for (const [reservedRole, reserved] of ledger.reservedByRole) {
        if (!withinRole(reservedRole, role)) continue;
        for (let i = 0; i < MEDIA_OFFSET; i++) e.consumed[i] = (e.consumed[i] ?? 0) + (reserved[i] ?? 0);
      }
    }
    const required = this.requiredHeadroom(this.scratch);
    for (let i = 0; i < N; i++) this.spare[i] = (this.spare[i] ?? 0) - (required[i] ?? 0);
  }

  /**
   * The most of each unreserved field `role` may get now, given `free` on the agent (written to
   * `out`): `min(free, unmetFor + max(0, spare), limitHeadroom)`.
   */
  cap(role: string, free: ArrayLike<number>, out: Float64Array): Float64Array {
    for (let i = 0; i < N; i++) out[i] = free[i] ?? 0;
    if (this.entries.size === 0) return out;
    const unmet = this.unmetFor(role, this.scratch);
    for (let i = 0; i < N; i++) out[i] = Math.min(out[i] ?? 0, (unmet[i] ?? 0) + Math.max(0, this.spare[i] ?? 0));
    for (const e of this.path(role)) {
      if (!e.limited) continue;
      for (let i = 0; i < N; i++)
        out[i] = Math.min(out[i] ?? 0, Math.max(0, (e.limit[i] ?? Infinity) - (e.consumed[i] ?? 0)));
    }
    return out;
  }

  /** True when a quota role on `role`'s path still has an unmet guarantee. */
  belowGuarantee(role: string): boolean {
    for (const e of this.path(role)) if (e.guaranteed && this.unmetOf(e)) return true;
    return false;
  }

  /** Records an unreserved allocation of `amounts` to `role` made during the pass. */
  charge(role: string, amounts: ArrayLike<number>): void {
    if (this.entries.size === 0) return;
    const before = this.requiredHeadroom(new Float64Array(N));
    for (const e of this.path(role))
      for (let i = 0; i < N; i++) e.consumed[i] = (e.consumed[i] ?? 0) + (amounts[i] ?? 0);
    const after = this.requiredHeadroom(this.scratch);
    // The cluster has `amounts` less free; the headroom needed shrank by (before − after).
    for (let i = 0; i < N; i++)
      this.spare[i] = (this.spare[i] ?? 0) - (amounts[i] ?? 0) + ((before[i] ?? 0) - (after[i] ?? 0));
  }

  /** Quota entries on `role`'s path: the role and its ancestors that have a quota. */
  private *path(role: string): Generator<Entry> {
    for (let at = role; ;) {
      const e = this.entries.get(at);
      if (e) yield e;
      const cut = at.lastIndexOf('/');
      if (cut < 0) return;
      at = at.slice(0, cut);
    }
  }

  /** Smallest unmet guarantee over `role`'s guaranteed path, per field (0 when none). */
  private unmetFor(role: string, out: Float64Array): Float64Array {
    out.fill(Infinity);
    let any = false;
    for (const e of this.path(role)) {
      if (!e.guaranteed) continue;
      any = true;
      for (let i = 0; i < N; i++)
        out[i] = Math.min(out[i] ?? 0, Math.max(0, (e.guarantee[i] ?? 0) - (e.consumed[i] ?? 0)));
    }
    if (!any) out.fill(0);
    return out;
  }

  private unmetOf(e: Entry): boolean {
    for (let i = 0; i < N; i++) if ((e.guarantee[i] ?? 0) > (e.consumed[i] ?? 0)) return true;
    return false;
  }

  private requiredHeadroom(out: Float64Array): Float64Array {
    out.fill(0);
    for (const e of this.entries.values()) {
      if (!e.guaranteed || !e.topMost) continue;
      for (let i = 0; i < N; i++) out[i] = (out[i] ?? 0) + Math.max(0, (e.guarantee[i] ?? 0) - (e.consumed[i] ?? 0));
    }
    return out;
  }

  private markTopMost(): void {
    for (const [role, e] of this.entries) {
      e.topMost = true;
      for (const [other, o] of this.entries)
        if (other !== role && o.guaranteed && withinRole(role, other)) e.topMost = false;
    }
  }
}
