/**
 * Where the lending learns how much cpu the machine leaves idle: by default the kernel's own count
 * (`/proc/stat`), behind a one-method interface so that a test on a shared machine can measure
 * idleness of its own making instead.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { CgroupDriver } from '../../isolators/cgroup-driver.js';

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

/**
 * Idle cpu of a share of the machine: `capacity` millicores less what the given cgroups used since
 * the previous call. For a machine shared with work Galaxy does not run (a loaded test machine, or
 * an agent offering part of a host), where the kernel's idle count says nothing of Galaxy's share.
 * A cgroup seen for the first time, or gone, counts as using nothing this time.
 */
export class CgroupIdle implements IdleSource {
  private last = new Map<string, number>();
  private at: number | undefined;

  /**
   * @param cgroups the cgroups whose use is busy (relative to the cpuacct root), asked at each call
   */
  constructor(
    private readonly driver: Pick<CgroupDriver, 'get'>,
    private readonly capacity: number,
    private readonly cgroups: () => readonly string[],
  ) {}

  async sample(): Promise<number | undefined> {
    const now = new Map<string, number>();
    for (const path of this.cgroups()) {
      const ns = Number(await this.driver.get('cpuacct', path, 'cpuacct.usage').catch(() => Number.NaN));
      if (Number.isFinite(ns)) now.set(path, ns);
    }
    const at = performance.now();
    const elapsedNs = this.at === undefined ? 0 : (at - this.at) * 1e6;
    let usedNs = 0;
    for (const [path, ns] of now) usedNs += Math.max(0, ns - (this.last.get(path) ?? ns));
    this.last = now;
    this.at = at;
    if (elapsedNs <= 0) return undefined;
    return Math.round(this.capacity - (usedNs / elapsedNs) * 1000);
  }
}
