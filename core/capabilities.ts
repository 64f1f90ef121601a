/**
 * Linux capabilities of a task's container (docs/security.md, "Users and capabilities"): the
 * bounding set every container starts from is Docker's default; a job may add named ones with the
 * authority `task:capabilities`. Names are checked the same way at submit, at ACCEPT and on the
 * agent, so a typo is refused where it is made.
 */
import { GalaxyError, type ErrorCode } from './errors.js';

/** Capability numbers by name (include/uapi/linux/capability.h), without the `CAP_` prefix. */
export const CAPABILITIES: Readonly<Record<string, number>> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
  MAC_OVERRIDE: 32,
  MAC_ADMIN: 33,
  SYSLOG: 34,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37,
  PERFMON: 38,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
};

/** Docker's default bounding set: what every container's processes may hold at most. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'NET_RAW',
  'SYS_CHROOT',
  'MKNOD',
  'AUDIT_WRITE',
  'SETFCAP',
];

/** Most capabilities one task may add. */
const MAX_ADDED = 41;

/**
 * Checks capability names (`NET_ADMIN` or `CAP_NET_ADMIN`, any case) and returns them in their
 * canonical form, without duplicates; throws `code` naming the first unknown one.
 */
export function parseCapabilities(
  names: readonly string[],
  where: string,
  code: ErrorCode = 'GALAXY_E_INVALID_ARGUMENT',
): string[] {
  if (names.length > MAX_ADDED) throw new GalaxyError(code, `${where}: at most ${MAX_ADDED} capabilities`);
  const out = new Set<string>();
  for (const name of names) {
    const canonical = name.toUpperCase().replace(/^CAP_/, '');
    if (!(canonical in CAPABILITIES))
      throw new GalaxyError(
        code,
        `${where}: "${name.slice(0, 40)}" is not a Linux capability; use names such as NET_ADMIN (see capabilities(7))`,
      );
    out.add(canonical);
  }
  return [...out];
}

/** The capabilities `added` brings beyond the default set (what needs `task:capabilities`). */
export function extraCapabilities(added: readonly string[]): string[] {
  return added.filter((name) => !DEFAULT_CAPABILITIES.includes(name));
}

/** The bounding set of a container that adds `added` to the default, as a hex bit mask. */
export function capabilityMask(added: readonly string[]): string {
  let mask = 0n;
  for (const name of [...DEFAULT_CAPABILITIES, ...added]) {
    const bit = CAPABILITIES[name];
    if (bit !== undefined) mask |= 1n << BigInt(bit);
  }
  return mask.toString(16);
}
