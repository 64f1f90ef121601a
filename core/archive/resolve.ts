/**
 * Where a path really leads inside a directory tree, following the symlinks in it, as the kernel
 * would — decided without I/O over a {@link Lookup} of the tree (the entries an archive made so
 * far, or a directory on disk). One resolver serves every check that a path stays inside its root:
 * archive entries' symlink targets and data-package destinations.
 *
 * A component that does not exist (yet) may later be created — even as a symlink, by a later
 * entry — so nothing after it is known: the resolver accepts such a path only when it never climbs
 * (`..`) after the unknown component, since only then can no later state of the tree make it leave
 * the root.
 */

/** What a path names in the tree. */
export type PathNode =
  | { readonly kind: 'dir' }
  | { readonly kind: 'file' }
  | { readonly kind: 'symlink'; readonly target: string }
  | { readonly kind: 'other' };

/** What is at `segments` (relative to the root), or undefined when nothing is there yet. */
export type Lookup = (segments: readonly string[]) => PathNode | undefined;

/** How an absolute symlink target is read. */
export type AbsoluteLinks =
  /** Refused: the tree is looked at from the host, where `/` is the host's root (packages). */
  | 'refuse'
  /** From the tree's root, as inside a container whose root the tree is (root filesystem images). */
  | 'rooted';

/** A path that stays inside the root: its real segments, and whether it ends in something not there yet. */
export interface Inside {
  readonly segments: readonly string[];
  /** A component was missing: the path ends in something that does not exist (yet). */
  readonly dangling: boolean;
}

/** The result of {@link resolveInside}: where the path leads, or why it may not be followed. */
export type Resolution = Inside | { readonly refusal: string };

/** Linux follows at most 40 symlinks in one lookup (MAXSYMLINKS); so does the resolver. */
export const MAX_SYMLINK_HOPS = 40;

/** The components of a relative path: `''` and `.` dropped, `..` kept. */
export function componentsOf(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Resolves `path`, read from the directory `from` (segments under the root), following every
 * symlink of the tree. Refuses it when it would leave the root (a `..` above it, an absolute
 * target unless `rooted`), climb after a component that is not there yet, go through a file as if
 * it were a directory, or loop.
 */
export function resolveInside(
  lookup: Lookup,
  from: readonly string[],
  path: string,
  absolute: AbsoluteLinks,
): Resolution {
  const at: string[] = [...from];
  let pending = componentsOf(path);
  if (path.startsWith('/')) {
    if (absolute === 'refuse') return { refusal: `"${path}" is absolute` };
    at.length = 0;
  }
  let dangling = false;
  let hops = 0;
  while (pending.length > 0) {
    const [component, ...rest] = pending as [string, ...string[]];
    pending = rest;
    if (component === '..') {
      if (dangling) return { refusal: `"${path}" climbs with ".." out of "${at.join('/')}", which is not there yet` };
      if (at.length === 0) return { refusal: `"${path}" climbs with ".." above the root` };
      at.pop();
      continue;
    }
    if (dangling) {
      at.push(component);
      continue;
    }
    const node = lookup([...at, component]);
    if (node === undefined) {
      dangling = true;
      at.push(component);
    } else if (node.kind === 'dir') {
      at.push(component);
    } else if (node.kind === 'symlink') {
      if (++hops > MAX_SYMLINK_HOPS) return { refusal: `"${path}" follows more than ${MAX_SYMLINK_HOPS} symlinks` };
      if (node.target.startsWith('/')) {
        if (absolute === 'refuse')
          return { refusal: `"${path}" goes through a symlink to the absolute path "${node.target}"` };
        at.length = 0;
      }
      pending = [...componentsOf(node.target), ...pending];
    } else if (pending.length > 0) {
      return { refusal: `"${path}" goes through "${[...at, component].join('/')}", which is not a directory` };
    } else {
      at.push(component);
    }
  }
  return { segments: at, dangling };
}

/** True when `resolution` refuses the path. */
export function isRefusal(resolution: Resolution): resolution is { readonly refusal: string } {
  return 'refusal' in resolution;
}
