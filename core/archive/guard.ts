/**
 * The archive guard: the one check every unpacking goes through (packages, data packages, root
 * filesystem images). It keeps a model of the tree the entries made so far and admits an entry
 * only when, whatever an extractor does with it, nothing lands outside the destination:
 *
 * - an entry's path is relative, has no `..`, and goes through directories only — never through a
 *   symlink or a file (so even an extractor that follows links writes inside);
 * - a symlink's target, resolved from where the link is with the links made so far
 *   ({@link resolveInside}), stays inside — so `a/x -> ..` then `esc -> a/x/a/x/../../etc` is
 *   refused — and never climbs after a component that is not there yet, so no later entry can turn
 *   an admitted link into an escape;
 * - a hard link points at a regular file this archive made;
 * - an entry never replaces a directory or a symlink (which earlier links may go through), and
 *   only a file replaces a file;
 * - devices, FIFOs and other special types are refused;
 * - the number of entries, the bytes they unpack to and the length of paths are bounded (a tar bomb).
 *
 * Pure: no I/O. The first refusal is final: the caller refuses the whole archive.
 */
import { componentsOf, isRefusal, resolveInside, type AbsoluteLinks, type PathNode } from './resolve.js';

/** Bounds of one archive. */
export interface ArchiveLimits {
  /** Entries of any kind. */
  readonly maxEntries: number;
  /** Bytes the regular files unpack to, in total. */
  readonly maxBytes: number;
  /** Bytes of one entry's path or link target. */
  readonly maxPathBytes: number;
}

/** The default bounds: a package or data package of up to 100,000 entries and 4 GiB. */
export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = Object.freeze({
  maxEntries: 100_000,
  maxBytes: 4 * 1024 ** 3,
  maxPathBytes: 4096,
});

/** How a guard reads an archive. */
export interface GuardOptions {
  readonly limits?: Partial<ArchiveLimits>;
  /** Absolute symlink targets: refused (packages, the default) or rooted at the destination (images). */
  readonly absoluteLinks?: AbsoluteLinks;
}

/** What the guard needs of an entry (a tar header). */
export interface ArchiveEntry {
  readonly path: string;
  /** node-tar's type name: `File`, `Directory`, `SymbolicLink`, `Link`, `CharacterDevice`, … */
  readonly type: string;
  readonly linkpath?: string;
  /** Bytes of data (regular files). */
  readonly size?: number;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const SPECIAL_TYPES = new Set(['CharacterDevice', 'BlockDevice', 'FIFO']);

/** Admits or refuses the entries of one archive, in order; see the module comment. */
export class ArchiveGuard {
  private readonly limits: ArchiveLimits;
  private readonly absoluteLinks: AbsoluteLinks;
  /** The tree made so far, by `/`-joined path; the root is `''`. */
  private readonly tree = new Map<string, PathNode>([['', { kind: 'dir' }]]);
  private entries = 0;
  private bytes = 0;
  private refused: string | undefined;

  constructor(options: GuardOptions = {}) {
    this.limits = { ...DEFAULT_ARCHIVE_LIMITS, ...options.limits };
    this.absoluteLinks = options.absoluteLinks ?? 'refuse';
  }

  /** Entries admitted so far. */
  get count(): number {
    return this.entries;
  }

  /** Bytes the admitted files unpack to. */
  get size(): number {
    return this.bytes;
  }

  /**
   * Admits `entry` into the model, or returns why the archive must be refused (and refuses every
   * later entry with the same reason).
   */
  admit(entry: ArchiveEntry): string | undefined {
    this.refused ??= this.check(entry);
    return this.refused;
  }

  private check(entry: ArchiveEntry): string | undefined {
    const { path, type } = entry;
    if (++this.entries > this.limits.maxEntries) return `it holds more than ${this.limits.maxEntries} entries`;
    if (Buffer.byteLength(path) > this.limits.maxPathBytes)
      return `entry "${path.slice(0, 80)}…" has a path longer than ${this.limits.maxPathBytes} bytes`;
    const segments = entrySegments(path);
    if (typeof segments === 'string') return `entry "${path}" ${segments}`;
    if (SPECIAL_TYPES.has(type)) return `entry "${path}" is a ${type}, which an archive may not hold`;
    const parents = this.parentsOf(path, segments);
    if (parents !== undefined) return parents;
    const key = segments.join('/');
    const existing = this.tree.get(key);
    if (type === 'Directory') {
      if (existing !== undefined && existing.kind !== 'dir') return `entry "${path}" replaces a ${existing.kind}`;
      this.tree.set(key, { kind: 'dir' });
      return undefined;
    }
    if (segments.length === 0) return `entry "${path}" is the destination itself, as a ${type}`;
    if (existing !== undefined && (existing.kind !== 'file' || type === 'SymbolicLink'))
      return `entry "${path}" (${type}) replaces a ${existing.kind}, which earlier entries may go through`;
    if (FILE_TYPES.has(type)) return this.file(path, key, entry.size ?? 0);
    if (type === 'SymbolicLink') return this.symlink(path, key, segments, entry.linkpath ?? '');
    if (type === 'Link') return this.hardlink(path, key, entry.linkpath ?? '');
    return `entry "${path}" is of type ${type}, which an archive may not hold`;
  }

  /** Checks that every parent of the entry is a directory (made now if new); the reason if not. */
  private parentsOf(path: string, segments: readonly string[]): string | undefined {
    for (let n = 1; n < segments.length; n++) {
      const parent = segments.slice(0, n).join('/');
      const node = this.tree.get(parent);
      if (node === undefined) this.tree.set(parent, { kind: 'dir' });
      else if (node.kind === 'symlink') return `entry "${path}" goes through the symlink "${parent}"`;
      else if (node.kind !== 'dir') return `entry "${path}" goes through "${parent}", which is not a directory`;
    }
    return undefined;
  }

  private file(path: string, key: string, size: number): string | undefined {
    if (!Number.isSafeInteger(size) || size < 0) return `entry "${path}" has a bad size`;
    this.bytes += size;
    if (this.bytes > this.limits.maxBytes) return `it unpacks to more than ${this.limits.maxBytes} bytes`;
    this.tree.set(key, { kind: 'file' });
    return undefined;
  }

  private symlink(path: string, key: string, segments: readonly string[], target: string): string | undefined {
    if (target === '') return `symlink "${path}" has no target`;
    if (Buffer.byteLength(target) > this.limits.maxPathBytes)
      return `symlink "${path}" has a target longer than ${this.limits.maxPathBytes} bytes`;
    const lookup = (at: readonly string[]): PathNode | undefined => this.tree.get(at.join('/'));
    const resolved = resolveInside(lookup, segments.slice(0, -1), target, this.absoluteLinks);
    if (isRefusal(resolved)) return `symlink "${path}" points outside the destination: ${resolved.refusal}`;
    this.tree.set(key, { kind: 'symlink', target });
    return undefined;
  }

  private hardlink(path: string, key: string, target: string): string | undefined {
    const segments = entrySegments(target);
    const node = typeof segments === 'string' ? undefined : this.tree.get(segments.join('/'));
    if (typeof segments === 'string' || node?.kind !== 'file')
      return `hard link "${path}" points at "${target}", which is not a regular file of this archive`;
    // Parents of a file in the model are directories (checked when it was admitted); none can have
    // been replaced since, so the link names that very file.
    this.tree.set(key, { kind: 'file' });
    return undefined;
  }
}

/** An entry path's segments, or why it is not a relative path inside the destination. */
function entrySegments(path: string): string[] | string {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'is absolute';
  if (path.includes('\0')) return 'holds a NUL byte';
  // A backslash is a separator to some extractors: treat it as one for `..`.
  if (path.split(/[\\/]/).includes('..')) return 'climbs with ".."';
  return componentsOf(path);
}
