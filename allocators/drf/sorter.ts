/**
 * A hierarchical weighted DRF sorter, with the semantics of Mesos' `DRFSorter`.
 *
 * Clients are paths (`eng/search`). Each node of the tree holds the allocation of its whole
 * subtree; its share is the maximum over scalar resources of allocation ÷ total (the pool set by
 * {@link DrfSorter.setTotal}: the cluster's for roles, the role's allocation for its frameworks), divided
 * by the node's weight. Siblings are kept sorted by (share, allocation count, path). A client that
 * is also the prefix of other clients (`eng` beside `eng/search`) is a virtual leaf under its own
 * internal node, as in Mesos, so `eng` competes with `eng/search` inside `eng`, and `eng` as a
 * whole competes with `ops`.
 *
 * Inactive clients keep their allocation (it still counts in their ancestors' shares) but are
 * skipped by {@link DrfSorter.first} and {@link DrfSorter.sorted}; a subtree without an active
 * client is skipped whole, which keeps a pass cheap when most frameworks are suppressed.
 *
 * Shares change incrementally: an allocation updates the nodes on one path and moves each within
 * its siblings by binary search. A change of totals or weights marks the tree dirty and the next
 * walk re-sorts it once.
 */
import type { Sorter } from '../sorter.js';
import { SCALARS, SorterNode, compareNodes, indexIn, lowerBound } from './sorter-node.js';

/** Construction options of a {@link DrfSorter}. */
export interface DrfSorterOptions {
  /**
   * True (default): `/` in a client name nests it, as for roles. False: names are opaque, as for
   * the frameworks within one role.
   */
  readonly hierarchical?: boolean;
}

/** Hierarchical weighted DRF ordering of clients. */
export class DrfSorter implements Sorter {
  private readonly root = new SorterNode('', '', undefined, false);
  private readonly leaves = new Map<string, SorterNode>();
  private readonly weights = new Map<string, number>();
  private readonly total = new Float64Array(SCALARS);
  private readonly scratch = new Float64Array(SCALARS);
  private readonly hierarchical: boolean;
  /** Cached shares and sibling order are stale (totals or weights changed). */
  private dirty = false;

  constructor(options: DrfSorterOptions = {}) {
    this.hierarchical = options.hierarchical ?? true;
  }

  /** Number of clients, active or not. */
  get size(): number {
    return this.leaves.size;
  }

  /** Number of active clients. */
  get activeCount(): number {
    return this.root.active;
  }

  /** Sets the cluster totals (cpus, mem, disk, gpus). Every share changes: re-sorted on the next walk. */
  setTotal(total: ArrayLike<number>): void {
    for (let i = 0; i < SCALARS; i++) {
      const value = total[i] ?? 0;
      if (this.total[i] !== value) this.dirty = true;
      this.total[i] = value;
    }
  }

  /** True when `path` is a client. */
  has(path: string): boolean {
    return this.leaves.has(path);
  }

  /** Adds a client holding nothing (no-op when present), active unless told otherwise. */
  add(path: string, active = true): void {
    if (this.leaves.has(path)) return;
    const segments = this.hierarchical ? path.split('/') : [path];
    let parent = this.root;
    let prefix = '';
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i] ?? '';
      prefix = i === 0 ? segment : `${prefix}/${segment}`;
      const existing = parent.byName.get(segment);
      if (i === segments.length - 1) {
        // An internal node with this path already exists: the client becomes its virtual leaf.
        const leaf = existing
          ? this.attach(existing, new SorterNode(prefix, '.', existing, true))
          : this.attach(parent, new SorterNode(prefix, segment, parent, true));
        this.leaves.set(path, leaf);
        if (active) this.changeActive(leaf, 1);
        return;
      }
      if (!existing) parent = this.attach(parent, new SorterNode(prefix, segment, parent, false));
      else parent = existing.leaf ? this.splitLeaf(existing) : existing;
    }
  }

  /** Removes a client; its allocation leaves its ancestors' shares with it. */
  remove(path: string): void {
    const leaf = this.leaves.get(path);
    if (!leaf) return;
    if (leaf.active > 0) this.changeActive(leaf, -1);
    for (let i = 0; i < SCALARS; i++) this.scratch[i] = -(leaf.allocation[i] ?? 0);
    this.update(path, this.scratch, -leaf.count);
    this.leaves.delete(path);
    // Detach the leaf, then every ancestor it leaves without children.
    let node = leaf;
    for (let parent = node.parent; parent; parent = node.parent) {
      this.detach(parent, node);
      if (parent === this.root || parent.children.length > 0) break;
      node = parent;
    }
  }

  /** Offers go to the client again. */
  activate(path: string): void {
    const leaf = this.leaves.get(path);
    if (leaf?.active === 0) this.changeActive(leaf, 1);
  }

  /** The client keeps its allocation but is skipped by the walk (disconnected or suppressed). */
  deactivate(path: string): void {
    const leaf = this.leaves.get(path);
    if (leaf?.active === 1) this.changeActive(leaf, -1);
  }

  /** True when the client exists and is active. */
  isActive(path: string): boolean {
    return this.leaves.get(path)?.active === 1;
  }

  /**
   * Sets the weight of the node at `path` (a client or a prefix; clients added later get it too).
   * It sets how the node competes with its siblings; a client that is also a prefix competes
   * with its own children at weight 1, as in Mesos.
   */
  setWeight(path: string, weight: number): void {
    this.weights.set(path, weight);
    this.dirty = true;
  }

  /**
   * Records an allocation change of a client: `delta` scalars (negative to give back), and
   * `allocations` more allocations (for the tie-break). Each ancestor moves among its siblings.
   */
  update(path: string, delta: ArrayLike<number>, allocations: number): void {
    const leaf = this.leaves.get(path);
    for (let node = leaf; node?.parent; node = node.parent) {
      const siblings = node.parent.children;
      const at = this.dirty ? -1 : indexIn(siblings, node);
      const allocation = node.allocation;
      for (let i = 0; i < SCALARS; i++) allocation[i] = (allocation[i] ?? 0) + (delta[i] ?? 0);
      node.count += allocations;
      if (at >= 0) {
        node.share = this.shareOf(node);
        this.reposition(siblings, at, node);
      }
    }
  }

  /** The client's weighted dominant share; 0 for an unknown client. */
  share(path: string): number {
    const leaf = this.leaves.get(path);
    return leaf ? this.shareOf(leaf) : 0;
  }

  /**
   * The first active client, in DRF order (lowest weighted share first, depth first through the
   * tree), for which `accept` returns true; undefined when none does. `accept` should be a
   * long-lived function: the walk allocates nothing itself.
   */
  first(accept: (path: string) => boolean): string | undefined {
    if (this.dirty) {
      this.resort(this.root);
      this.dirty = false;
    }
    return this.search(this.root, accept);
  }

  /** Every active client in DRF order (Mesos' `sort()`), for tests and operators. */
  sorted(): string[] {
    const out: string[] = [];
    this.first((path) => {
      out.push(path);
      return false;
    });
    return out;
  }

  private search(node: SorterNode, accept: (path: string) => boolean): string | undefined {
    const children = node.children;
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (child === undefined || child.active === 0) continue;
      if (child.leaf) {
        if (accept(child.path)) return child.path;
      } else {
        const found = this.search(child, accept);
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  private shareOf(node: SorterNode): number {
    let share = 0;
    for (let i = 0; i < SCALARS; i++) {
      const total = this.total[i] ?? 0;
      if (total > 0) {
        const s = (node.allocation[i] ?? 0) / total;
        if (s > share) share = s;
      }
    }
    return share / node.weight;
  }

  private weightOf(node: SorterNode): number {
    return node.virtual ? 1 : (this.weights.get(node.path) ?? 1);
  }

  /** Moves `node`, whose key changed, from index `at` to its sorted place among `siblings`. */
  private reposition(siblings: SorterNode[], at: number, node: SorterNode): void {
    const before = siblings[at - 1];
    const after = siblings[at + 1];
    // Most changes keep the order (the node was already last, or still ahead of the next one).
    if (
      (before === undefined || compareNodes(before, node) < 0) &&
      (after === undefined || compareNodes(node, after) < 0)
    )
      return;
    // Native splice moves the elements in between with a memmove: faster than a shifting loop.
    siblings.splice(at, 1);
    siblings.splice(lowerBound(siblings, node), 0, node);
  }

  private resort(node: SorterNode): void {
    for (const child of node.children) {
      child.weight = this.weightOf(child);
      child.share = this.shareOf(child);
      if (!child.leaf) this.resort(child);
    }
    node.children.sort(compareNodes);
  }

  private changeActive(leaf: SorterNode, delta: number): void {
    for (let node: SorterNode | undefined = leaf; node; node = node.parent) node.active += delta;
  }

  /** Puts `node` (allocation already set) among `parent`'s children. */
  private attach(parent: SorterNode, node: SorterNode): SorterNode {
    node.weight = this.weightOf(node);
    node.share = this.shareOf(node);
    parent.byName.set(node.name, node);
    if (this.dirty) parent.children.push(node);
    else parent.children.splice(lowerBound(parent.children, node), 0, node);
    return node;
  }

  private detach(parent: SorterNode, node: SorterNode): void {
    parent.byName.delete(node.name);
    const at = this.dirty ? parent.children.indexOf(node) : indexIn(parent.children, node);
    if (at >= 0) parent.children.splice(at, 1);
  }

  /** Turns a leaf into an internal node whose virtual leaf `.` keeps the client's allocation. */
  private splitLeaf(leaf: SorterNode): SorterNode {
    const parent = leaf.parent ?? this.root;
    this.detach(parent, leaf);
    const internal = this.copyOf(leaf, new SorterNode(leaf.path, leaf.name, parent, false));
    this.attach(parent, internal);
    const virtual = this.copyOf(leaf, new SorterNode(leaf.path, '.', internal, true));
    this.attach(internal, virtual);
    this.leaves.set(leaf.path, virtual);
    return internal;
  }

  private copyOf(from: SorterNode, to: SorterNode): SorterNode {
    to.allocation.set(from.allocation);
    to.count = from.count;
    to.active = from.active;
    return to;
  }
}
