/**
 * The machine's idle cpu and available memory, read from /proc: what the QoS controller weighs
 * besides its tasks' usage. Parsing is pure; {@link MachineSampler} keeps the previous cpu counters.
 */
import { readFile } from 'node:fs/promises';
import type { MachineLoad } from './qos.js';

/** The aggregate cpu line of /proc/stat: total and idle (idle + iowait) jiffies. */
export function parseCpuTimes(stat: string): { total: number; idle: number } | undefined {
  const line = stat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  return { total: fields.reduce((a, b) => a + b, 0), idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
}

/** MemAvailable of /proc/meminfo in bytes (free + reclaimable cache), or MemFree + Cached on old kernels. */
export function parseMemAvailable(meminfo: string): number | undefined {
  const kb = (name: string): number | undefined => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(meminfo);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const available = kb('MemAvailable');
  if (available !== undefined) return available;
  const free = kb('MemFree');
  return free === undefined ? undefined : free + (kb('Cached') ?? 0);
}

/** Samples the machine's load; the first sample's idle is 1 (no interval yet). */
export class MachineSampler {
  private last: { total: number; idle: number } | undefined;

  /** Idle fraction since the previous sample, and available memory now. */
  async sample(): Promise<MachineLoad> {
    const [stat, meminfo] = await Promise.all([
      readFile('/proc/stat', 'utf8').catch(() => ''),
      readFile('/proc/meminfo', 'utf8').catch(() => ''),
    ]);
    const now = parseCpuTimes(stat);
    let idle = 1;
    if (now && this.last && now.total > this.last.total)
      idle = (now.idle - this.last.idle) / (now.total - this.last.total);
    if (now) this.last = now;
    return {
      idle: Math.min(1, Math.max(0, idle)),
      memAvailable: parseMemAvailable(meminfo) ?? Number.MAX_SAFE_INTEGER,
    };
  }
}
