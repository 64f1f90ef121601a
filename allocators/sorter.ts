/**
 * The allocation policy: a sorter, as in Mesos' `Sorter` interface. The hierarchical allocator
 * (`hierarchical/hierarchical-allocator.ts`) holds the mechanism — agents, what is free and held,
 * refuse filters, suppression, the minimum allocatable size, reservations and the quota stages —
 * and asks sorters only one question: who goes first. It keeps one sorter over roles and one per
 * role over that role's frameworks, and tells them every allocation change, so a policy that
 * orders by allocation (DRF) can keep up and one that does not (round-robin, random) ignores it.
 *
 * Quota and reservations hold whatever the sorter answers: the allocator cuts every offer to
 * limits and guarantees and hands reserved resources only to their roles.
 */
import type { PluginMeta } from '../core/plugin-loader.js';

/**
 * What a sorter orders: `roles` (paths; `/` nests them, `eng/search` is within `eng`) or
 * `frameworks` (the frameworks of one role; names are opaque). A role sorter's total is the
 * cluster's unreserved total; a framework sorter's total is what its role holds, so frameworks are
 * ordered by their share of the role's allocation, as in Mesos.
 */
export type SorterLevel = 'roles' | 'frameworks';

/**
 * Orders clients (role paths or framework ids). Every method but {@link Sorter.first} is called
 * as state changes; {@link Sorter.first} is called in the allocation hot loop and must allocate
 * nothing itself.
 */
export interface Sorter {
  /** Number of clients, active or not. */
  readonly size: number;
  /** Number of active clients: the allocator skips a pass (or a role) when it is 0. */
  readonly activeCount: number;
  /** Adds a client holding nothing (no-op when present). */
  add(client: string, active: boolean): void;
  /** Removes a client; what it held was given back (through {@link Sorter.update}) before. */
  remove(client: string): void;
  /** The client gets offers again. */
  activate(client: string): void;
  /** The client keeps what it holds but is skipped by {@link Sorter.first}. */
  deactivate(client: string): void;
  /** Sets a client's (or, for roles, a prefix's) weight. Policies without weights ignore it. */
  setWeight(client: string, weight: number): void;
  /** The pool shares are measured against: cpus, mem, disk, gpus. */
  setTotal(total: ArrayLike<number>): void;
  /**
   * The client's allocation changed by `delta` (cpus, mem, disk, gpus; negative when given back);
   * `allocations` is 1 for a new allocation (an offer), 0 otherwise.
   */
  update(client: string, delta: ArrayLike<number>, allocations: number): void;
  /**
   * The first active client, in the policy's order, for which `accept` returns true; undefined
   * when none does. An accepted client is allocated to at once (its {@link Sorter.update}
   * follows), so a policy may move it in its order then.
   */
  first(accept: (client: string) => boolean): string | undefined;
}

/** An allocation policy: how to make its sorters. */
export interface AllocatorPolicy {
  /** The policy's name, reported as the allocator's name (`drf`, `round-robin`). */
  readonly name: string;
  /** A new, empty sorter for one level. */
  /** `random` is the allocator's random source ({@link AllocatorOptions.random}), for a policy that orders at random. */
  createSorter(level: SorterLevel, random: () => number): Sorter;
  /**
   * Visit agents in a new random order each pass (default true), as Mesos does so that no agent
   * is always offered first; false keeps the allocator's slot order.
   */
  readonly shuffleAgents?: boolean;
}

/** What an allocation policy module exports: the policy plus plugin metadata. */
export interface AllocatorPolicyPlugin extends PluginMeta, AllocatorPolicy {
  readonly kind: 'allocator';
}

/** Every active client of `sorter` in its order, for tests and operators. */
export function sortedClients(sorter: Sorter): string[] {
  const out: string[] = [];
  sorter.first((client) => {
    out.push(client);
    return false;
  });
  return out;
}

/**
 * A base for sorters that order clients without accounting (no shares, no weights): it keeps the
 * clients in the order they came and which of them are active; a subclass says in which order
 * {@link ListSorter.first} visits them, and may react to {@link ListSorter.update}.
 */
export abstract class ListSorter implements Sorter {
  /** Client → active, in insertion order (a subclass may move a client by delete + set). */
  protected readonly clients = new Map<string, boolean>();
  private active = 0;

  get size(): number {
    return this.clients.size;
  }

  get activeCount(): number {
    return this.active;
  }

  add(client: string, active: boolean): void {
    if (this.clients.has(client)) return;
    this.clients.set(client, active);
    if (active) this.active++;
  }

  remove(client: string): void {
    if (this.clients.get(client) === true) this.active--;
    this.clients.delete(client);
  }

  activate(client: string): void {
    if (this.clients.get(client) !== false) return;
    this.clients.set(client, true);
    this.active++;
  }

  deactivate(client: string): void {
    if (this.clients.get(client) !== true) return;
    this.clients.set(client, false);
    this.active--;
  }

  setWeight(_client: string, _weight: number): void {
    // No weights: the order does not depend on them.
  }

  setTotal(_total: ArrayLike<number>): void {
    // No shares: the order does not depend on the pool.
  }

  update(_client: string, _delta: ArrayLike<number>, _allocations: number): void {
    // No shares: the order does not depend on allocations unless a subclass says so.
  }

  first(accept: (client: string) => boolean): string | undefined {
    for (const client of this.order()) if (this.clients.get(client) === true && accept(client)) return client;
    return undefined;
  }

  /** The clients in the order {@link ListSorter.first} tries them (inactive ones are skipped). */
  protected abstract order(): Iterable<string>;
}
