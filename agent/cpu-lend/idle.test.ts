/** Idle sources: the kernel's count parsed from `/proc/stat`, and a share of a machine less its cgroups' use. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CgroupIdle, idleBetween, parseProcStat, ProcStatIdle } from './idle.js';

const STAT = (idle: number, busy: number) =>
  `cpu  ${busy} 0 0 ${idle} 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0 0 0\nintr 1\n`;

describe('idle cpu', () => {
  it('reads idle and iowait jiffies and the online cpus from /proc/stat', () => {
    const times = parseProcStat('cpu  10 1 2 300 5 0 0 0 7 0\ncpu0 1\ncpu1 1\ncpu2 1\n');
    expect(times).toEqual({ idle: 305, total: 318, cpus: 3 });
    expect(() => parseProcStat('intr 1\n')).toThrow(/no cpu line/);
  });

  it('turns two readings into idle millicores of the whole machine', () => {
    // 2 cpus, 200 jiffies passed, 150 of them idle: 1.5 cores idle.
    expect(idleBetween(parseProcStat(STAT(1000, 1000)), parseProcStat(STAT(1150, 1050)))).toBe(1500);
    expect(idleBetween(parseProcStat(STAT(1000, 1000)), parseProcStat(STAT(1000, 1000)))).toBe(0);
  });

  it('samples the real /proc/stat: nothing at first, then between 0 and every core', async () => {
    const source = new ProcStatIdle();
    expect(await source.sample()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 50));
    const idle = await source.sample();
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(idle).toBeLessThanOrEqual(parseProcStat(readFileSync('/proc/stat', 'utf8')).cpus * 1000);
  });

  it('counts a share of the machine less what its cgroups used, a new cgroup from its first sight', async () => {
    const usage = new Map<string, number>([['a', 0]]);
    let cgroups = ['a'];
    const source = new CgroupIdle(
      {
        get: (_c, path) =>
          usage.has(path) ? Promise.resolve(String(usage.get(path))) : Promise.reject(new Error('gone')),
      },
      1000,
      () => cgroups,
    );
    expect(await source.sample()).toBeUndefined();
    await new Promise((r) => setTimeout(r, 100));
    usage.set('a', 1e12); // far more than the time passed: the share is all used
    expect(await source.sample()).toBeLessThan(0);
    cgroups = ['a', 'b', 'missing'];
    usage.set('b', 5e12); // seen for the first time: its past use is not this interval's
    await new Promise((r) => setTimeout(r, 50));
    expect(await source.sample()).toBe(1000);
  });
});
