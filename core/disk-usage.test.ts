import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DiskResource, Resources } from '../proto/gen/galaxy/v1/common.js';
import { agentDisks, disksCell, mediumTotals, usedOfCapacity } from './disk-usage.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
const TiB = 1024 ** 4;

const disk = (name: string, medium: string, size: number, capacity = size): DiskResource => ({
  name,
  medium,
  size,
  capacity,
  exclusive: false,
});
const withDisks = (...disks: DiskResource[]): Resources => ({
  cpus: 0,
  mem: 0,
  disk: disks.reduce((s, d) => s + d.size, 0),
  gpus: 0,
  ports: [],
  namedDisks: { disks },
});

describe('agentDisks', () => {
  it('gives each disk its capacity, what tasks hold on it, what is offered and what is free', () => {
    const total = withDisks(disk('ssd1', 'ssd', 100 * GiB), disk('hdd1', 'hdd', 2 * TiB));
    // Two volumes share ssd1; hdd1 is untouched and offered whole.
    const used = withDisks(disk('ssd1', 'ssd', 30 * GiB), disk('ssd1', 'ssd', 50 * GiB));
    const offered = withDisks(disk('ssd1', 'ssd', 20 * GiB), disk('hdd1', 'hdd', 2 * TiB));
    expect(agentDisks(total, used, offered)).toEqual([
      { name: 'hdd1', medium: 'hdd', capacity: 2 * TiB, used: 0, offered: 2 * TiB, free: 2 * TiB, held: 0 },
      { name: 'ssd1', medium: 'ssd', capacity: 100 * GiB, used: 80 * GiB, offered: 20 * GiB, free: 20 * GiB, held: 0 },
    ]);
  });

  it('counts a kept volume with no container as used and held: its bytes are not free', () => {
    const total = withDisks(disk('ssd1', 'ssd', 100 * GiB));
    const used = withDisks(disk('ssd1', 'ssd', 30 * GiB));
    const [d] = agentDisks(total, used, undefined, [
      { disk: 'ssd1', size: 40 * GiB },
      { disk: 'gone', size: GiB },
    ]);
    expect(d).toEqual({
      name: 'ssd1',
      medium: 'ssd',
      capacity: 100 * GiB,
      used: 70 * GiB,
      offered: 0,
      free: 30 * GiB,
      held: 40 * GiB,
    });
    expect(mediumTotals(d ? [d] : [])[0]?.held).toBe(40 * GiB);
  });

  it('is empty for an agent without named disks, and ignores shares of disks the agent lacks', () => {
    expect(agentDisks(undefined)).toEqual([]);
    expect(agentDisks(withDisks())).toEqual([]);
    const total = withDisks(disk('ssd1', 'ssd', GiB));
    expect(agentDisks(total, withDisks(disk('gone', 'ssd', GiB)))).toEqual([
      { name: 'ssd1', medium: 'ssd', capacity: GiB, used: 0, offered: 0, free: GiB, held: 0 },
    ]);
  });

  it('never says used above the capacity or free below zero, whatever the books say', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16 * MiB, max: 4 * TiB }),
        fc.array(fc.integer({ min: 0, max: 4 * TiB }), { maxLength: 5 }),
        fc.integer({ min: 0, max: 8 * TiB }),
        (capacity, shares, offer) => {
          const [d] = agentDisks(
            withDisks(disk('d', 'hdd', capacity)),
            withDisks(...shares.map((s) => disk('d', 'hdd', s))),
            withDisks(disk('d', 'hdd', offer)),
          );
          expect(d).toBeDefined();
          if (!d) return;
          expect(d.used + d.free).toBe(capacity);
          expect(d.used).toBe(
            Math.min(
              capacity,
              shares.reduce((a, b) => a + b, 0),
            ),
          );
          expect(d.free).toBeGreaterThanOrEqual(0);
          expect(d.offered).toBeLessThanOrEqual(d.free);
        },
      ),
    );
  });
});

describe('mediumTotals', () => {
  it('sums disks per medium, ssd before hdd before tmpfs', () => {
    const disks = [
      ...agentDisks(withDisks(disk('t', 'tmpfs', GiB), disk('h', 'hdd', TiB)), withDisks(disk('h', 'hdd', 200 * GiB))),
      ...agentDisks(
        withDisks(disk('a', 'ssd', 10 * GiB), disk('b', 'ssd', 30 * GiB)),
        withDisks(disk('b', 'ssd', GiB)),
      ),
      ...agentDisks(withDisks(disk('h', 'hdd', TiB))),
    ];
    expect(mediumTotals(disks)).toEqual([
      { medium: 'ssd', disks: 2, capacity: 40 * GiB, used: GiB, offered: 0, free: 39 * GiB, held: 0 },
      { medium: 'hdd', disks: 2, capacity: 2 * TiB, used: 200 * GiB, offered: 0, free: 2 * TiB - 200 * GiB, held: 0 },
      { medium: 'tmpfs', disks: 1, capacity: GiB, used: 0, offered: 0, free: GiB, held: 0 },
    ]);
    expect(mediumTotals([])).toEqual([]);
  });
});

describe('the compact cell of galaxy agents', () => {
  it('writes used in the unit of the capacity, one decimal at most', () => {
    expect(usedOfCapacity(80 * GiB, 100 * GiB)).toBe('80/100GiB');
    expect(usedOfCapacity(1.2 * TiB, 2 * TiB)).toBe('1.2/2TiB');
    expect(usedOfCapacity(0, 256 * MiB)).toBe('0/256MiB');
    expect(usedOfCapacity(32 * MiB, 1.5 * GiB)).toBe('0/1.5GiB');
    expect(usedOfCapacity(100 * MiB, GiB)).toBe('0.1/1GiB');
  });

  it('shows one entry per medium, or - without disks', () => {
    const disks = agentDisks(
      withDisks(disk('s1', 'ssd', 50 * GiB), disk('s2', 'ssd', 50 * GiB), disk('h', 'hdd', 2 * TiB)),
      withDisks(disk('s1', 'ssd', 50 * GiB), disk('s2', 'ssd', 30 * GiB), disk('h', 'hdd', 1.2 * TiB)),
    );
    expect(disksCell(disks)).toBe('ssd 80/100GiB, hdd 1.2/2TiB');
    expect(disksCell([])).toBe('-');
  });
});
