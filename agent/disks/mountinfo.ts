/**
 * The kernel's mount table as this process sees it (`/proc/self/mountinfo`, proc(5)): where disk
 * discovery (`--disks-from`) finds the mount points, devices, filesystems and super options of the
 * agent's disks. A mount point is whatever someone mounted, so every line is read as hostile:
 * a malformed one is dropped, never half-read, and the kernel's octal escapes (`\040` for a space,
 * `\011`, `\012`, `\134`) are decoded only where they are well-formed.
 */
import { readFile } from 'node:fs/promises';

/** One mount of the table. */
export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  /** The device of the mount's filesystem (`st_dev`): `major:minor`; major 0 has no block device. */
  readonly major: number;
  readonly minor: number;
  /** The directory of the filesystem that is mounted: `/` unless it is a bind mount of a part. */
  readonly root: string;
  readonly mountPoint: string;
  /** Per-mount options (`rw`, `nosuid`, …). */
  readonly options: readonly string[];
  readonly fsType: string;
  /** What was mounted: a device (`/dev/vdb`), an image's loop device, or a name (`tmpfs`). */
  readonly source: string;
  /** The filesystem's own options (`prjquota`, `size=64m`, …). */
  readonly superOptions: readonly string[];
}

const NUMBER = /^(0|[1-9][0-9]{0,9})$/;
const DEVICE = /^(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9})$/;
/** Longest line read: the kernel's lines are far shorter; a longer one is not a mount. */
const MAX_LINE = 16 * 1024;

/**
 * Decodes the kernel's `\ooo` escapes of one field. Undefined when the field holds a stray
 * backslash or an escape of a byte over 0x7f (the kernel escapes only ASCII separators).
 */
export function unescapeMountField(field: string): string | undefined {
  let out = '';
  for (let i = 0; i < field.length; i += 1) {
    const c = field.charAt(i);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const digits = field.slice(i + 1, i + 4);
    if (!/^[0-7]{3}$/.test(digits)) return undefined;
    const code = parseInt(digits, 8);
    if (code > 0x7f) return undefined;
    out += String.fromCharCode(code);
    i += 3;
  }
  return out;
}

/** Escapes a field as the kernel does (space, tab, newline, backslash): the inverse of {@link unescapeMountField}. */
export function escapeMountField(field: string): string {
  return field.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/** One line of mountinfo, or undefined when it is not a well-formed one. */
export function parseMountLine(line: string): MountEntry | undefined {
  if (line.length > MAX_LINE) return undefined;
  const fields = line.split(' ');
  const dash = fields.indexOf('-', 6);
  if (dash < 0 || fields.length !== dash + 4) return undefined;
  const [id = '', parentId = '', device = '', rootField = '', pointField = '', options = ''] = fields;
  const [fsTypeField = '', sourceField = '', superOptions = ''] = fields.slice(dash + 1);
  const dev = DEVICE.exec(device);
  if (!NUMBER.test(id) || !NUMBER.test(parentId) || !dev) return undefined;
  const root = unescapeMountField(rootField);
  const mountPoint = unescapeMountField(pointField);
  const fsType = unescapeMountField(fsTypeField);
  const source = unescapeMountField(sourceField);
  if (root === undefined || mountPoint === undefined || fsType === undefined || source === undefined) return undefined;
  if (!mountPoint.startsWith('/') || fsType === '' || options === '') return undefined;
  return {
    id: Number(id),
    parentId: Number(parentId),
    major: Number(dev[1]),
    minor: Number(dev[2]),
    root,
    mountPoint,
    options: options.split(','),
    fsType,
    source,
    superOptions: superOptions.split(',').filter(Boolean),
  };
}

/** Every well-formed mount of a mountinfo text, in its order (a later mount covers an earlier one at the same point). */
export function parseMountinfo(text: string): MountEntry[] {
  return text.split('\n').flatMap((line) => parseMountLine(line) ?? []);
}

/** This process's mount table. */
export async function readMountinfo(path = '/proc/self/mountinfo'): Promise<MountEntry[]> {
  return parseMountinfo(await readFile(path, 'utf8'));
}

/**
 * The mount seen at `path`: the last one mounted there whose device is `path`'s own (`st_dev`),
 * or undefined when `path` is not a mount point.
 */
export function mountAt(
  mounts: readonly MountEntry[],
  path: string,
  dev: { major: number; minor: number },
): MountEntry | undefined {
  return [...mounts].reverse().find((m) => m.mountPoint === path && m.major === dev.major && m.minor === dev.minor);
}

/** The mount that holds `path` (a real path on device `dev`): the deepest mount point above it on that device. */
export function mountHolding(
  mounts: readonly MountEntry[],
  path: string,
  dev: { major: number; minor: number },
): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of mounts) {
    if (m.major !== dev.major || m.minor !== dev.minor) continue;
    const above = m.mountPoint === '/' || path === m.mountPoint || path.startsWith(`${m.mountPoint}/`);
    if (above && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

/** `major:minor` of a `st_dev` (Linux's encoding, as glibc's `major()`/`minor()`). */
export function deviceNumbers(dev: bigint): { major: number; minor: number } {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}
