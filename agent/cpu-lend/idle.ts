/**
 * Where the lending learns how much cpu the machine leaves idle: by default the kernel's own count
 * (`/proc/stat`), behind a one-method interface so that a test on a shared machine can measure
 * idleness of its own making instead.
 */
import { readFile } from 'node:fs/promises';

/** Idle cpu of the machine, in millicores, averaged since the previous call. */
export interface IdleSource {
  /** Idle millicores since the previous call; undefined on the first call (nothing to compare with yet). */
  sample(): Promise<number | undefined>;
}

/** Jiffies of the `cpu` line of `/proc/stat`: the idle ones (idle + iowait) and all of them. */
export interface CpuTimes {
  readonly idle: number;
  readonly total: number;
  /** Online cpus (the `cpuN` lines). */
  readonly cpus: number;
}

/** Parses `/proc/stat`'s text; throws when it has no `cpu` line. */
export function parseProcStat(text: string): CpuTimes {
  const line = /^cpu\s+(.*)$/m.exec(text);
  if (!line?.[1]) throw new Error('/proc/stat has no cpu line');
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice).
  const fields = line[1].trim().split(/\s+/).slice(0, 8).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { idle: (fields[3] ?? 0) + (fields[4] ?? 0), total, cpus: (text.match(/^cpu\d+\s/gm) ?? []).length || 1 };
}

/** Idle millicores between two readings of `/proc/stat`. */
export function idleBetween(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return Math.round(((after.idle - before.idle) / total) * after.cpus * 1000);
}

/** The machine's idle cpu from `/proc/stat` (iowait counts as idle: a core waiting on a disk is free to run). */
export class ProcStatIdle implements IdleSource {
  private last: CpuTimes | undefined;

  constructor(private readonly path = '/proc/stat') {}

  async sample(): Promise<number | undefined> {
    const now = parseProcStat(await readFile(this.path, 'utf8'));
    const before = this.last;
    this.last = now;
    return before === undefined ? undefined : idleBetween(before, now);
  }
}
