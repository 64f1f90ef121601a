/**
 * Reservations on one agent: what is reserved for which role (static ones from the agent's
 * flags, dynamic ones from operators), and how much of each reservation frameworks hold now.
 *
 * Reservations are scalars only (cpus, mem, disk, gpus); ports are never reserved. What a
 * reservation keeps free is `reserved − held`; the rest of the agent's free resources is
 * unreserved.
 */
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { GalaxyError } from '../../core/errors.js';
import { formatResources, validateResources } from '../../core/resources.js';
import { checkRole } from '../../core/validate.js';
import type { RoleResources } from '../allocator.js';

const N = 4;

/** True when `role` is `ancestor` or below it (`eng/search` is within `eng`). */
export function withinRole(role: string, ancestor: string): boolean {
  return role === ancestor || (role.startsWith(ancestor) && role.charAt(ancestor.length) === '/');
}

/** Checks a reservation request: a real role, scalars only, not empty. */
export function checkReservation(role: string, resources: Resources): void {
  checkRole(role, 'GALAXY_E_RESERVATION_INVALID');
  if (role === '*') throw new GalaxyError('GALAXY_E_RESERVATION_INVALID', 'resources cannot be reserved for role *');
  validateResources(resources, `reservation for ${role}`);
  if (resources.ports.length > 0)
    throw new GalaxyError('GALAXY_E_RESERVATION_INVALID', `reservation for ${role}: ports cannot be reserved`);
  if (resources.cpus + resources.mem + resources.disk + resources.gpus === 0)
    throw new GalaxyError('GALAXY_E_RESERVATION_INVALID', `reservation for ${role} is empty`);
}

function scalars(r: Resources): Float64Array {
  return Float64Array.from([r.cpus, r.mem, r.disk, r.gpus]);
}

function toResources(v: ArrayLike<number>): Resources {
  return { cpus: v[0] ?? 0, mem: v[1] ?? 0, disk: v[2] ?? 0, gpus: v[3] ?? 0, ports: [] };
}

function addInto(map: Map<string, Float64Array>, role: string, v: ArrayLike<number>, sign: 1 | -1): void {
  const sum = map.get(role) ?? new Float64Array(N);
  let any = false;
  for (let i = 0; i < N; i++) {
    sum[i] = Math.max(0, (sum[i] ?? 0) + sign * (v[i] ?? 0));
    if ((sum[i] ?? 0) > 0) any = true;
  }
  if (any) map.set(role, sum);
  else map.delete(role);
}

/** The reservations of one agent. `F` is the allocator's framework entry. */
export class AgentReservations<F extends object = object> {
  private readonly fixed = new Map<string, Float64Array>();
  private readonly dynamic = new Map<string, Float64Array>();
  private readonly merged = new Map<string, Float64Array>();
  /** Role → held by all frameworks together. */
  private readonly held = new Map<string, Float64Array>();
  /** Framework → role → held by it. */
  private readonly heldBy = new Map<F, Map<string, Float64Array>>();
  private readonly sum = new Float64Array(N);

  /** True when nothing is reserved here. */
  get empty(): boolean {
    return this.merged.size === 0;
  }

  /** Roles with a reservation here. */
  roles(): IterableIterator<string> {
    return this.merged.keys();
  }

  /** Role → reserved scalars (static and dynamic together). */
  byRole(): IterableIterator<[string, Float64Array]> {
    return this.merged.entries();
  }

  /** All reservations here, summed. */
  totals(): Float64Array {
    return this.sum;
  }

  /** Reservations as the allocator API lists them. */
  list(): RoleResources[] {
    return [...this.merged].map(([role, v]) => ({ role, resources: toResources(v) }));
  }

  /** Adds a reservation; throws, changing nothing, when it is malformed or all would not fit `total`. */
  add(role: string, resources: Resources, kind: 'static' | 'dynamic', total: Resources): void {
    checkReservation(role, resources);
    const v = scalars(resources);
    const after = Float64Array.from(this.sum, (s, i) => s + (v[i] ?? 0));
    const cap = scalars(total);
    if (after.some((s, i) => s > (cap[i] ?? 0))) {
      throw new GalaxyError(
        'GALAXY_E_RESERVATION_INVALID',
        `reserving ${formatResources(resources)} for ${role} would reserve ${formatResources(toResources(after))} of an agent with ${formatResources(total)}`,
      );
    }
    addInto(kind === 'static' ? this.fixed : this.dynamic, role, v, 1);
    addInto(this.merged, role, v, 1);
    this.sum.set(after);
  }

  /** Removes (part of) a dynamic reservation; throws, changing nothing, when it is not that big. */
  remove(role: string, resources: Resources): void {
    checkReservation(role, resources);
    const v = scalars(resources);
    const have = this.dynamic.get(role) ?? new Float64Array(N);
    if (v.some((x, i) => x > (have[i] ?? 0))) {
      throw new GalaxyError(
        'GALAXY_E_RESERVATION_INVALID',
        `cannot unreserve ${formatResources(resources)} for ${role}: only ${formatResources(toResources(have))} is dynamically reserved there`,
      );
    }
    addInto(this.dynamic, role, v, -1);
    addInto(this.merged, role, v, -1);
    for (let i = 0; i < N; i++) this.sum[i] = Math.max(0, (this.sum[i] ?? 0) - (v[i] ?? 0));
  }

  /** What the reservation of `role` keeps free (reserved − held) into `out`. */
  unheld(role: string, out: Float64Array): Float64Array {
    const reserved = this.merged.get(role);
    const held = this.held.get(role);
    for (let i = 0; i < N; i++) out[i] = Math.max(0, (reserved?.[i] ?? 0) - (held?.[i] ?? 0));
    return out;
  }

  /** Takes from `free` what every reservation keeps free (floored at 0). */
  subtractUnheld(free: Float64Array): void {
    for (const [role, reserved] of this.merged) {
      const held = this.held.get(role);
      for (let i = 0; i < N; i++)
        free[i] = Math.max(0, (free[i] ?? 0) - Math.max(0, (reserved[i] ?? 0) - (held?.[i] ?? 0)));
    }
  }

  /** `framework` now holds `amounts` more of the reservation of `role`. */
  hold(framework: F, role: string, amounts: ArrayLike<number>): void {
    addInto(this.held, role, amounts, 1);
    let mine = this.heldBy.get(framework);
    if (!mine) {
      mine = new Map();
      this.heldBy.set(framework, mine);
    }
    addInto(mine, role, amounts, 1);
  }

  /**
   * `framework`, which held `held` here, gives back the scalars in `out`. Its unreserved holding
   * goes back first; what must come out of its reservations is taken from them and written
   * back into `out` (the reserved part of what is given back).
   */
  release(framework: F, held: Resources, out: Float64Array): void {
    const mine = this.heldBy.get(framework);
    if (!mine) {
      out.fill(0);
      return;
    }
    const total = scalars(held);
    const reservedHeld = new Float64Array(N);
    for (const v of mine.values()) for (let i = 0; i < N; i++) reservedHeld[i] = (reservedHeld[i] ?? 0) + (v[i] ?? 0);
    for (let i = 0; i < N; i++) {
      const unreservedHeld = Math.max(0, (total[i] ?? 0) - (reservedHeld[i] ?? 0));
      out[i] = Math.min(reservedHeld[i] ?? 0, Math.max(0, (out[i] ?? 0) - unreservedHeld));
    }
    const left = Float64Array.from(out);
    for (const [role, v] of [...mine]) {
      const take = Float64Array.from(v, (x, i) => Math.min(x, left[i] ?? 0));
      for (let i = 0; i < N; i++) left[i] = (left[i] ?? 0) - (take[i] ?? 0);
      addInto(mine, role, take, -1);
      addInto(this.held, role, take, -1);
    }
    if (mine.size === 0) this.heldBy.delete(framework);
  }

  /**
   * After the reservation of `role` shrank: what frameworks hold of it beyond what is still
   * reserved is no longer reserved. Returns, per framework, the scalars that moved.
   */
  trimHeld(role: string): [F, Float64Array][] {
    const reserved = this.merged.get(role) ?? new Float64Array(N);
    const held = this.held.get(role);
    if (!held) return [];
    const excess = Float64Array.from(held, (h, i) => Math.max(0, h - (reserved[i] ?? 0)));
    if (excess.every((x) => x === 0)) return [];
    const moved: [F, Float64Array][] = [];
    for (const [framework, mine] of this.heldBy) {
      const v = mine.get(role);
      if (!v) continue;
      const take = Float64Array.from(v, (x, i) => Math.min(x, excess[i] ?? 0));
      if (take.every((x) => x === 0)) continue;
      for (let i = 0; i < N; i++) excess[i] = (excess[i] ?? 0) - (take[i] ?? 0);
      addInto(mine, role, take, -1);
      addInto(this.held, role, take, -1);
      moved.push([framework, take]);
    }
    return moved;
  }

  /** Drops the holdings of a framework that holds nothing here any more. */
  forget(framework: F): void {
    const mine = this.heldBy.get(framework);
    if (!mine) return;
    for (const [role, v] of mine) addInto(this.held, role, v, -1);
    this.heldBy.delete(framework);
  }
}
