/**
 * A hierarchical weighted DRF sorter, with the semantics of Mesos' `DRFSorter`.
 *
 * Clients are paths (`eng/search`). Each node of the tree holds the allocation of its whole
 * subtree; its share is the maximum over scalar resources of allocation ÷ cluster total, divided
 * by the node's weight. Siblings are kept sorted by (share, allocation count, name). A client that
 * is also the parent of other clients (`eng` beside `eng/search`) is a virtual leaf `.` under its
 * own internal node, as in Mesos.
 *
 * Shares change incrementally: an allocation updates the nodes on one path and moves each within
 * its siblings by binary search; only a change of the cluster totals re-sorts everything.
 */

const SCALARS = 4;

/** One node of the tree. */
class SorterNode {
  readonly children: SorterNode[] = [];
  readonly byName = new Map<string, SorterNode>();
  readonly allocation = new Float64Array(SCALARS);
  count = 0;
  share = 0;
  weight = 1;

  constructor(
    /** Full path of the node (the client's path for leaves). */
    readonly path: string,
    /** Segment name under the parent (`.` for a virtual leaf). */
    readonly name: string,
    public parent: SorterNode | undefined,
    public leaf: boolean,
  ) {}
}

function compare(a: SorterNode, b: SorterNode): number {
  if (a.share !== b.share) return a.share - b.share;
  if (a.count !== b.count) return a.count - b.count;
  return a.path < b.path ? -1 : a.path > b.path ? 1 : a.leaf === b.leaf ? 0 : a.leaf ? -1 : 1;
}

/** Index at which `node` sits (or would be inserted) in `list`, by binary search. */
function lowerBound(list: readonly SorterNode[], node: SorterNode): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const probe = list[mid];
    if (probe && compare(probe, node) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Hierarchical weighted DRF ordering of clients. */
export class DrfSorter {
  private readonly root = new SorterNode('', '', undefined, false);
  private readonly leaves = new Map<string, SorterNode>();
  private readonly weights = new Map<string, number>();
  private readonly total = new Float64Array(SCALARS);
  private dirty = false;

  /** Sets the cluster totals (cpus, mem, disk, gpus); every share changes, so the tree is re-sorted lazily. */
  setTotal(total: ArrayLike<number>): void {
    for (let i = 0; i < SCALARS; i++) this.total[i] = total[i] ?? 0;
    this.dirty = true;
  }

  /** True when `path` is a client. */
  has(path: string): boolean {
    return this.leaves.has(path);
  }

  /** Adds a client (no-op when present). */
  add(path: string): void {
    if (this.leaves.has(path)) return;
    const segments = path.split('/');
    let parent = this.root;
    for (let i = 0; i < segments.length; i++) {
      const prefix = segments.slice(0, i + 1).join('/');
      const segment = segments[i] ?? '';
      let child = parent.byName.get(segment);
      const last = i === segments.length - 1;
      if (last) {
        if (child) {
          // An internal node already has this path: the client becomes its virtual leaf.
          this.insert(child, this.newNode(prefix, '.', child, true));
          this.leaves.set(path, child.byName.get('.') as SorterNode);
        } else {
          child = this.newNode(prefix, segment, parent, true);
          this.insert(parent, child);
          this.leaves.set(path, child);
        }
        return;
      }
      if (!child) {
        child = this.newNode(prefix, segment, parent, false);
        this.insert(parent, child);
      } else if (child.leaf) {
        child = this.splitLeaf(child);
      }
      parent = child;
    }
  }

  /** Removes a client; its allocation leaves the tree with it. */
  remove(path: string): void {
    const leaf = this.leaves.get(path);
    if (!leaf) return;
    const negative = leaf.allocation.map((v) => -v);
    this.update(path, negative, -leaf.count);
    this.leaves.delete(path);
    let node: SorterNode | undefined = leaf;
    while (node?.parent && (node.leaf || node.children.length === 0)) {
      const parent: SorterNode = node.parent;
      this.detach(parent, node);
      node = parent === this.root ? undefined : parent;
    }
  }

  /** Sets the weight of the node at `path` (and of its virtual leaf). */
  setWeight(path: string, weight: number): void {
    this.weights.set(path, weight);
    this.dirty = true;
  }

  /** Records an allocation change of a client: `delta` scalars, `allocations` more allocations. */
  update(path: string, delta: ArrayLike<number>, allocations: number): void {
    let node = this.leaves.get(path);
    while (node?.parent) {
      const parent: SorterNode = node.parent;
      const index = this.dirty ? -1 : this.indexOf(parent, node);
      if (index >= 0) parent.children.splice(index, 1);
      for (let i = 0; i < SCALARS; i++) node.allocation[i] = (node.allocation[i] ?? 0) + (delta[i] ?? 0);
      node.count += allocations;
      if (!this.dirty) {
        node.share = this.shareOf(node);
        parent.children.splice(lowerBound(parent.children, node), 0, node);
      }
      node = parent;
    }
  }

  /** The client's dominant share (weighted). */
  share(path: string): number {
    const leaf = this.leaves.get(path);
    return leaf ? this.shareOf(leaf) : 0;
  }

  /**
   * The first client, in DRF order (lowest weighted share first, depth first through the role
   * tree), for which `accept` returns true; undefined when none does.
   */
  first(accept: (path: string) => boolean): string | undefined {
    if (this.dirty) this.resort(this.root);
    this.dirty = false;
    return this.search(this.root, accept);
  }

  /** Every client in DRF order (for tests and operators). */
  sorted(): string[] {
    const out: string[] = [];
    this.first((path) => {
      out.push(path);
      return false;
    });
    return out;
  }

  private search(node: SorterNode, accept: (path: string) => boolean): string | undefined {
    for (const child of node.children) {
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

  private resort(node: SorterNode): void {
    for (const child of node.children) {
      child.weight = this.weights.get(child.path) ?? 1;
      child.share = this.shareOf(child);
      if (!child.leaf) this.resort(child);
    }
    node.children.sort(compare);
  }

  private newNode(path: string, name: string, parent: SorterNode, leaf: boolean): SorterNode {
    const node = new SorterNode(path, name, parent, leaf);
    node.weight = this.weights.get(path) ?? 1;
    return node;
  }

  private insert(parent: SorterNode, node: SorterNode): void {
    parent.byName.set(node.name, node);
    node.share = this.shareOf(node);
    if (this.dirty) parent.children.push(node);
    else parent.children.splice(lowerBound(parent.children, node), 0, node);
  }

  private detach(parent: SorterNode, node: SorterNode): void {
    parent.byName.delete(node.name);
    const index = this.dirty ? parent.children.indexOf(node) : this.indexOf(parent, node);
    if (index >= 0) parent.children.splice(index, 1);
  }

  private indexOf(parent: SorterNode, node: SorterNode): number {
    const i = lowerBound(parent.children, node);
    return parent.children[i] === node ? i : parent.children.indexOf(node);
  }

  /** Turns a leaf into an internal node whose virtual leaf `.` keeps the client's allocation. */
  private splitLeaf(leaf: SorterNode): SorterNode {
    const parent = leaf.parent as SorterNode;
    this.detach(parent, leaf);
    const internal = this.newNode(leaf.path, leaf.name, parent, false);
    internal.allocation.set(leaf.allocation);
    internal.count = leaf.count;
    this.insert(parent, internal);
    const virtual = this.newNode(leaf.path, '.', internal, true);
    virtual.allocation.set(leaf.allocation);
    virtual.count = leaf.count;
    this.insert(internal, virtual);
    this.leaves.set(leaf.path, virtual);
    return internal;
  }
}
