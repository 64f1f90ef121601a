/**
 * Who owns an ephemeral key or a lock of the local backend: a process (pid and start time, so
 * that a recycled pid is not mistaken for the owner) and a session within it. An owner is dead
 * when its process is gone or a zombie: pid 1 on some machines does not reap orphans, so a
 * crashed process can linger as a zombie forever.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

/** A session of a process. */
export interface Owner {
  readonly pid: number;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22). */
  readonly start: string;
  readonly session: string;
  /**
   * The pid namespace the pid belongs to (`/proc/self/ns/pid`, e.g. `pid:[4026531836]`). A process
   * in another namespace (a container) cannot judge the owner by its pid.
   */
  readonly pidNamespace?: string;
}

/** This process's pid namespace. */
function ownPidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

const PID_NAMESPACE = ownPidNamespace();

/** The state letter and start time of `pid`, or `undefined` when there is no such process. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** A new session of this process. */
export function newOwner(): Owner {
  return {
    pid: process.pid,
    start: procStat(process.pid)?.start ?? '',
    session: randomUUID(),
    pidNamespace: PID_NAMESPACE,
  };
}

/**
 * True when the owner's process still runs (a zombie does not count). An owner in another pid
 * namespace counts as alive: from here its pid means another process, so it cannot be judged.
 */
export function isOwnerAlive(owner: Owner): boolean {
  if (owner.pidNamespace !== undefined && owner.pidNamespace !== PID_NAMESPACE) return true;
  const stat = procStat(owner.pid);
  return stat !== undefined && stat.state !== 'Z' && stat.start === owner.start;
}

/** Reads an {@link Owner} from parsed JSON, or `undefined` when it is not one. */
export function asOwner(value: unknown): Owner | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, start, session, pidNamespace } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || typeof start !== 'string' || typeof session !== 'string') return undefined;
  return typeof pidNamespace === 'string' ? { pid, start, session, pidNamespace } : { pid, start, session };
}
