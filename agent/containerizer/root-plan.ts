/**
 * The plan of a container's root filesystem (docs/security.md, "Root filesystem"), as steps the
 * native helper (`native/galaxy-init.c`) carries out in the container's mount namespace before it
 * pivots into the result. Pure: the same inputs give the same steps, so the layout is tested
 * without mounting anything.
 *
 * Without an image the root is a small tmpfs holding: read-only binds of the host's system
 * directories (or the same symlinks, on a merged-/usr host), the agent's generated /etc, a fresh
 * /proc with its sensitive parts read-only or hidden, a minimal /dev, a private /tmp, Galaxy
 * itself (read-only, at its host path), the sandbox at its host path, and the isolators' mounts.
 * The root is read-only at the end.
 *
 * With a root filesystem image the root is instead an overlay the helper mounts (`--image`): the
 * image's unpacked tree as the lower layer under the container's own writable upper layer. The
 * image brings its own system directories and /etc; of the host's /etc only hosts, hostname and
 * resolv.conf are bound over the image's (read-only), and the root stays writable. /proc, /dev,
 * /tmp, Galaxy's files (and Node, when the image has none at its host path), the sandbox and the
 * volumes are the same as without an image.
 */
import { posix } from 'node:path';
import type { ContainerMount } from '../../isolators/isolator.js';

/** One step, as the helper's `--op TYPE FLAGS ARG DST` takes it. */
export interface MountStep {
  readonly type: 'tmpfs' | 'bind' | 'proc' | 'devpts' | 'mkdir' | 'symlink' | 'mknod' | 'mask' | 'remount' | 'protect';
  /** Mount flags: ro, nosuid, nodev, noexec, rec, optional. */
  readonly flags: readonly string[];
  /** tmpfs/devpts data, bind source, mkdir mode, symlink target, mknod `major:minor`; '' for none. */
  readonly arg: string;
  /** The path in the container's root. */
  readonly dst: string;
}

/** A host system directory as it appears in every container. */
export interface SystemEntry {
  readonly path: string;
  /** Set when the host has a symlink there (merged /usr: `/bin -> usr/bin`): the same link. */
  readonly symlink?: string;
}

/** What the host offers every container: found once per agent (host-layout.ts). */
export interface HostLayout {
  readonly system: readonly SystemEntry[];
  /** The agent's generated /etc (host path). */
  readonly etc: string;
  /** Galaxy's own files (Node's prefix when outside /usr, the package's dist, node_modules, package.json). */
  readonly galaxy: readonly string[];
  /** Node's executable when it is in a system directory (bound into image roots, which lack the host's). */
  readonly node?: string;
}

/** One container's part of the plan. */
export interface RootSpec {
  readonly layout: HostLayout;
  /** The sandbox's path in the container (its host path, as the task's environment names it). */
  readonly sandbox: string;
  /** The sandbox's real path on the host. */
  readonly sandboxSource: string;
  /** Size of the private /tmp (it is memory, charged to the container). */
  readonly tmpBytes: number;
  readonly mounts: readonly ContainerMount[];
  /** Host uid and gid owning the container's tmpfs volumes (its root's), when not real root. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** The root is an image's overlay (mounted by the helper) rather than a tmpfs of host binds. */
  readonly image?: boolean;
}

/** Files of the agent's generated /etc bound over an image's own (the network's names are the host's). */
export const IMAGE_ETC_FILES = ['hosts', 'hostname', 'resolv.conf'];

/** /proc entries that are read-only in a container (as Docker's). */
const PROC_READ_ONLY = ['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus', '/proc/fs'];
/** /proc entries hidden in a container: they show the host's kernel memory, keys and processes. */
const PROC_MASKED = [
  '/proc/kcore',
  '/proc/keys',
  '/proc/timer_list',
  '/proc/sched_debug',
  '/proc/latency_stats',
  '/proc/acpi',
  '/proc/scsi',
];
/** Character devices every container gets: name, major, minor. */
const DEVICES: readonly (readonly [string, number, number])[] = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
];
const DEV_LINKS: readonly (readonly [string, string])[] = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
  ['ptmx', 'pts/ptmx'],
];

const SAFE = ['nosuid', 'nodev'];

/** Depth of a path: parents are mounted before what lies inside them. */
function depth(path: string): number {
  return path.split('/').length;
}

/** The steps that build a container's root, in order. */
export function planRoot(spec: RootSpec): MountStep[] {
  const steps: MountStep[] = [];
  const add = (type: MountStep['type'], flags: string[], arg: string, dst: string): void => {
    steps.push({ type, flags, arg, dst });
  };
  if (spec.image === true) {
    for (const file of IMAGE_ETC_FILES) add('bind', ['ro', ...SAFE], posix.join(spec.layout.etc, file), `/etc/${file}`);
  } else {
    for (const entry of spec.layout.system) {
      if (entry.symlink !== undefined) add('symlink', [], entry.symlink, entry.path);
      else add('bind', ['ro', ...SAFE, 'rec'], entry.path, entry.path);
    }
    add('bind', ['ro', ...SAFE], spec.layout.etc, '/etc');
  }

  add('proc', [...SAFE, 'noexec'], '', '/proc');
  for (const path of PROC_READ_ONLY) add('protect', ['ro', ...SAFE, 'noexec', 'optional'], '', path);
  for (const path of PROC_MASKED) add('mask', [], '', path);

  add('tmpfs', ['nosuid', 'noexec'], 'mode=0755,size=65536', '/dev');
  for (const [name, major, minor] of DEVICES) add('mknod', [], `${major}:${minor}`, `/dev/${name}`);
  add('mkdir', [], '0755', '/dev/pts');
  add('devpts', ['nosuid', 'noexec'], 'newinstance,ptmxmode=0666,mode=0620', '/dev/pts');
  add('tmpfs', [...SAFE, 'noexec'], 'mode=1777,size=67108864', '/dev/shm');
  for (const [name, target] of DEV_LINKS) add('symlink', [], target, `/dev/${name}`);
  add('remount', ['ro', 'nosuid', 'noexec'], '', '/dev');

  add('tmpfs', SAFE, `mode=1777,size=${Math.max(1024 * 1024, spec.tmpBytes)}`, '/tmp');
  for (const path of spec.layout.galaxy) add('bind', ['ro', ...SAFE, 'rec'], path, path);
  // Node for the AppWorker: in a system directory it is not among Galaxy's files above.
  if (spec.image === true && spec.layout.node !== undefined)
    add('bind', ['ro', ...SAFE], spec.layout.node, spec.layout.node);
  // The sandbox with the isolators' mounts inside it (a disk image is the sandbox itself).
  add('bind', [...SAFE, 'rec'], spec.sandboxSource, spec.sandbox);
  const mounts = [...spec.mounts].sort((a, b) => depth(a.target) - depth(b.target));
  const owner = spec.owner ? `,uid=${spec.owner.uid},gid=${spec.owner.gid}` : '';
  for (const mount of mounts) {
    const ro = mount.readOnly ? ['ro'] : [];
    if (mount.kind === 'tmpfs')
      add('tmpfs', [...ro, ...SAFE], `mode=0755,size=${mount.sizeBytes ?? 0}${owner}`, mount.target);
    else add('bind', [...ro, ...SAFE, 'rec'], mount.source ?? '', mount.target);
  }
  // An image's root is the container's to write (its upper layer); the host binds' root is not.
  if (spec.image !== true) add('remount', ['ro', ...SAFE], '', '/');
  return steps;
}

/** The helper's arguments for `steps`. */
export function stepArgs(steps: readonly MountStep[]): string[] {
  return steps.flatMap((s) => ['--op', s.type, s.flags.length > 0 ? s.flags.join(',') : '-', s.arg || '-', s.dst]);
}
