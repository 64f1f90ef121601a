import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_ESTIMATOR_TUNING, headroom, nextEstimate, type Estimate, type TaskLoad } from './estimator.js';

const MiB = 1024 * 1024;

function task(over: Partial<TaskLoad> = {}): TaskLoad {
  return {
    key: 'fw/t',
    allocCpus: 1000,
    allocMem: 1024 * MiB,
    usedCpus: 0,
    usedMem: 0,
    throttledS: 0,
    onRevocable: false,
    startedAt: 0,
    ...over,
  };
}

describe('headroom', () => {
  it("is the regular tasks' allocation less the margin less their usage", () => {
    const room = headroom([task({ usedCpus: 100, usedMem: 100 * MiB })], 0.2);
    expect(room).toEqual({ cpus: 700, mem: Math.floor(1024 * MiB * 0.8 - 100 * MiB) });
  });

  it('counts nothing of tasks on revocable resources, nor of a task over its allocation', () => {
    expect(headroom([task({ onRevocable: true }), task({ usedCpus: 5000, usedMem: 4096 * MiB })], 0.2)).toEqual({
      cpus: 0,
      mem: 0,
    });
  });

  it('never exceeds the regular allocation nor goes negative (property)', () => {
    const load = fc.record({
      allocCpus: fc.nat(64_000),
      allocMem: fc.nat(2 ** 40),
      usedCpus: fc.nat(128_000),
      usedMem: fc.nat(2 ** 41),
      onRevocable: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(load, { maxLength: 20 }), fc.double({ min: 0, max: 0.99, noNaN: true }), (loads, margin) => {
        const tasks = loads.map((l) => task(l));
        const room = headroom(tasks, margin);
        const regular = tasks.filter((t) => !t.onRevocable);
        expect(room.cpus).toBeGreaterThanOrEqual(0);
        expect(room.mem).toBeGreaterThanOrEqual(0);
        expect(room.cpus).toBeLessThanOrEqual(regular.reduce((n, t) => n + t.allocCpus, 0));
        expect(room.mem).toBeLessThanOrEqual(regular.reduce((n, t) => n + t.allocMem, 0));
      }),
    );
  });
});

describe('nextEstimate', () => {
  const tuning = { ...DEFAULT_ESTIMATOR_TUNING, window: 3 };
  const run = (raws: Estimate[]): Estimate[] => {
    let history: readonly Estimate[] = [];
    return raws.map((raw) => {
      const step = nextEstimate(history, raw, tuning);
      history = step.history;
      return step.estimate;
    });
  };

  it('lends nothing until the window is full, then the lowest of the window in whole steps', () => {
    const raw = { cpus: 750, mem: 300 * MiB };
    expect(run([raw, raw, raw])).toEqual([
      { cpus: 0, mem: 0 },
      { cpus: 0, mem: 0 },
      { cpus: 700, mem: 256 * MiB },
    ]);
  });

  it('reports a fall at once and a rise only once it lasted the whole window', () => {
    const high = { cpus: 2000, mem: 0 };
    const low = { cpus: 500, mem: 0 };
    const out = run([high, high, high, low, high, high, high]).map((e) => e.cpus);
    expect(out).toEqual([0, 0, 2000, 500, 500, 500, 2000]);
  });

  it('does not flap: a noisy raw estimate changes the report far less often than it changes (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1900, max: 2100 }), { minLength: 30, maxLength: 60 }), (noise) => {
        const out = run(noise.map((cpus) => ({ cpus, mem: 0 })));
        const changes = out.slice(1).filter((e, i) => e.cpus !== out[i]?.cpus).length;
        // Within ±100 mcpu of 2000 the floored window minimum is 1800 or 1900: few changes.
        expect(out.slice(tuning.window - 1).every((e) => e.cpus === 1800 || e.cpus === 1900 || e.cpus === 2000)).toBe(
          true,
        );
        expect(changes).toBeLessThanOrEqual(Math.ceil(noise.length / 2));
      }),
    );
  });
});
