/**
 * A node of the DRF sorter's tree and the order siblings are kept in.
 *
 * Siblings sit in an array sorted by (weighted share, allocation count, path), the order of Mesos'
 * `DRFSorter`. The sorter moves one node at a time with {@link lowerBound} + `splice`, so an
 * allocation costs O(depth × log siblings) comparisons instead of a re-sort.
 */

/** Number of scalar resources a node accounts: cpus, mem, disk, gpus (ports are not shared out). */
export const SCALARS = 4;

/** One node: a client (leaf), a role prefix (internal), or a client's virtual leaf under its own prefix. */
export class SorterNode {
  /** Children in DRF order (empty for leaves). */
  readonly children: SorterNode[] = [];
  /** Children by their segment name. */
  readonly byName = new Map<string, SorterNode>();
  /** Scalars allocated to the whole subtree. */
  readonly allocation = new Float64Array(SCALARS);
  /** Allocations made to the subtree; it only grows on allocation, as in Mesos, to break ties. */
  count = 0;
  /** Cached weighted dominant share: the sort key, valid while the sorter is not dirty. */
  share = 0;
  weight = 1;
  /** Active clients in the subtree (0 or 1 for a leaf): subtrees with none are skipped by the walk. */
  active = 0;
  /** Tie-break key. A virtual leaf's is `path/.` like Mesos' so it orders as Mesos orders it. */
  readonly key: string;

  constructor(
    /** Full path; for leaves, the client's name. */
    readonly path: string,
    /** Segment under the parent; `.` for a virtual leaf. */
    readonly name: string,
    public parent: SorterNode | undefined,
    readonly leaf: boolean,
  ) {
    this.key = name === '.' ? `${path}/.` : path;
  }

  /**
   * True for the leaf that stands for client `eng` beside `eng/search`. Its weight is always 1:
   * a role's weight sets how the role competes with its siblings, not with its own children.
   */
  get virtual(): boolean {
    return this.name === '.';
  }
}

/** DRF order of two siblings: lower weighted share, then fewer allocations, then path. */
export function compareNodes(a: SorterNode, b: SorterNode): number {
  if (a.share !== b.share) return a.share - b.share;
  if (a.count !== b.count) return a.count - b.count;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Index of the first element of the sorted `list` not before `node`. */
export function lowerBound(list: readonly SorterNode[], node: SorterNode): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const probe = list[mid];
    if (probe !== undefined && compareNodes(probe, node) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Where `node` sits among its sorted siblings; falls back to a scan if its key drifted. */
export function indexIn(list: readonly SorterNode[], node: SorterNode): number {
  const i = lowerBound(list, node);
  return list[i] === node ? i : list.indexOf(node);
}
