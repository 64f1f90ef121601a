/**
 * How the v1 settings isolators write become cgroup v2 files (the v2 driver's translation table).
 * Isolators are written once, against v1 names; a v1 setting that v2 has no faithful equivalent
 * for is refused with GALAXY_E_CGROUP_UNSUPPORTED, never written to a made-up file or dropped.
 *
 * - `cpu.shares` → `cpu.weight` (systemd's mapping); `cpu.cfs_quota_us`/`cpu.cfs_period_us` → `cpu.max`.
 * - `memory.limit_in_bytes` → `memory.max`; `memory.soft_limit_in_bytes` → `memory.high` (v2's
 *   throttling soft limit; `memory.low` is a protection, the opposite); `memory.memsw.limit_in_bytes`
 *   (memory + swap) → `memory.swap.max` = memsw − `memory.max`.
 * - `blkio.weight` → `io.weight`; `blkio.throttle.{read,write}_{bps,iops}_device` → one key of
 *   `io.max` (`rbps`, `wbps`, `riops`, `wiops`) for the device.
 * - `pids.max` and other names v2 shares with v1 pass through.
 */
import { GalaxyError } from '../../core/errors.js';

/** One file write. */
export interface V2Write {
  readonly file: string;
  readonly content: string;
}

/** Reads a control file of the same cgroup (undefined when absent). */
export type V2Reader = (file: string) => Promise<string | undefined>;

/** Converts v1 `cpu.shares` (2..262144, default 1024) to v2 `cpu.weight` (1..10000, default 100). */
export function sharesToWeight(shares: number): number {
  const clamped = Math.min(262_144, Math.max(2, shares));
  return 1 + Math.floor(((clamped - 2) * 9999) / 262_142);
}

const IO_MAX_KEY: Record<string, string> = {
  'blkio.throttle.read_bps_device': 'rbps',
  'blkio.throttle.write_bps_device': 'wbps',
  'blkio.throttle.read_iops_device': 'riops',
  'blkio.throttle.write_iops_device': 'wiops',
};

/** Settings of the same name and meaning in both versions. */
const SHARED = new Set(['pids.max', 'cgroup.procs', 'cgroup.freeze', 'cgroup.kill']);

function unsupported(key: string, why: string): GalaxyError {
  return new GalaxyError('GALAXY_E_CGROUP_UNSUPPORTED', `cgroup v2 cannot express ${key}: ${why}`);
}

function integer(key: string, value: string): bigint {
  if (!/^-?\d+$/.test(value.trim())) throw unsupported(key, `"${value.slice(0, 40)}" is not an integer`);
  return BigInt(value.trim());
}

/** `max` for a negative (unlimited) v1 amount, else the amount. */
function amountOrMax(key: string, value: string): string {
  const n = integer(key, value);
  return n < 0n ? 'max' : String(n);
}

/** The v2 writes that carry out the v1 setting `key = value`. */
export async function translateV1Write(key: string, value: string, read: V2Reader): Promise<V2Write[]> {
  switch (key) {
    case 'cpu.shares':
      return [{ file: 'cpu.weight', content: String(sharesToWeight(Number(integer(key, value)))) }];
    case 'cpu.cfs_quota_us': {
      const [, period = '100000'] = ((await read('cpu.max')) ?? 'max 100000').split(' ');
      return [{ file: 'cpu.max', content: `${amountOrMax(key, value)} ${period}` }];
    }
    case 'cpu.cfs_period_us': {
      const [quota = 'max'] = ((await read('cpu.max')) ?? 'max 100000').split(' ');
      return [{ file: 'cpu.max', content: `${quota} ${String(integer(key, value))}` }];
    }
    case 'memory.limit_in_bytes':
      return [{ file: 'memory.max', content: amountOrMax(key, value) }];
    case 'memory.soft_limit_in_bytes':
      return [{ file: 'memory.high', content: amountOrMax(key, value) }];
    case 'memory.memsw.limit_in_bytes': {
      const total = integer(key, value);
      if (total < 0n) return [{ file: 'memory.swap.max', content: 'max' }];
      const max = (await read('memory.max')) ?? 'max';
      if (max === 'max') throw unsupported(key, 'set memory.limit_in_bytes first: v2 caps swap apart from memory');
      const swap = total - BigInt(max);
      if (swap < 0n) throw unsupported(key, `memory + swap ${String(total)} is below the memory limit ${max}`);
      return [{ file: 'memory.swap.max', content: String(swap) }];
    }
    case 'blkio.weight': {
      const weight = integer(key, value);
      if (weight < 10n || weight > 1000n) throw unsupported(key, `weight ${String(weight)} is outside 10..1000`);
      // v1's 10..1000 and v2's 1..10000 both default to the middle (500 and 100): keep the ratio to it.
      const scaled = (weight * 100n) / 500n;
      return [{ file: 'io.weight', content: `default ${String(scaled < 1n ? 1n : scaled)}` }];
    }
    case 'freezer.state':
      return [{ file: 'cgroup.freeze', content: value === 'FROZEN' ? '1' : '0' }];
  }
  const ioKey = IO_MAX_KEY[key];
  if (ioKey !== undefined) {
    const match = /^(\d+:\d+)\s+(\d+)$/.exec(value.trim());
    if (!match) throw unsupported(key, `"${value.slice(0, 40)}" is not "<major>:<minor> <amount>"`);
    const [, device = '', amount = ''] = match;
    return [{ file: 'io.max', content: `${device} ${ioKey}=${amount === '0' ? 'max' : amount}` }];
  }
  if (SHARED.has(key)) return [{ file: key, content: value }];
  throw unsupported(key, 'no v2 equivalent is known to Galaxy');
}

/**
 * A v1 statistic rebuilt from v2 files, in the v1 format isolators parse; undefined for a name
 * v2 shares with v1 (read it as it is).
 */
export async function translateV1Read(key: string, read: V2Reader): Promise<string | undefined> {
  const need = async (file: string): Promise<string> => {
    const text = await read(file);
    if (text === undefined) throw new GalaxyError('GALAXY_E_INTERNAL', `cgroup v2 file ${file} is missing`);
    return text;
  };
  switch (key) {
    case 'memory.usage_in_bytes':
      return need('memory.current');
    case 'memory.max_usage_in_bytes':
      return need('memory.peak');
    case 'memory.limit_in_bytes': {
      const max = await need('memory.max');
      return max === 'max' ? String(Number.MAX_SAFE_INTEGER) : max;
    }
    case 'cpuacct.usage': {
      const usec = /usage_usec (\d+)/.exec(await need('cpu.stat'))?.[1] ?? '0';
      return String(BigInt(usec) * 1000n);
    }
    case 'memory.oom_control': {
      const kills = /oom_kill (\d+)/.exec(await need('memory.events'))?.[1] ?? '0';
      return `oom_kill_disable 0\nunder_oom 0\noom_kill ${kills}`;
    }
    case 'freezer.state':
      return (await need('cgroup.freeze')) === '1' ? 'FROZEN' : 'THAWED';
    case 'blkio.throttle.io_service_bytes': {
      // io.stat: "<maj:min> rbytes=N wbytes=N rios=N wios=N …" per device.
      const lines: string[] = [];
      for (const line of (await need('io.stat')).split('\n')) {
        const device = /^(\d+:\d+)\s/.exec(line)?.[1];
        if (device === undefined) continue;
        lines.push(`${device} Read ${/rbytes=(\d+)/.exec(line)?.[1] ?? '0'}`);
        lines.push(`${device} Write ${/wbytes=(\d+)/.exec(line)?.[1] ?? '0'}`);
      }
      return lines.join('\n');
    }
  }
  return undefined;
}
