import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { TaskLoad } from './estimator.js';
import { DEFAULT_QOS_TUNING, decideEvictions, type MachineLoad } from './qos.js';

const MiB = 1024 * 1024;
const calm: MachineLoad = { idle: 0.9, memAvailable: 8192 * MiB };
const tuning = { ...DEFAULT_QOS_TUNING, margin: 0.2, sustain: 1 };

function service(usedCpus: number, over: Partial<TaskLoad> = {}): TaskLoad {
  return {
    key: 'svc/web',
    allocCpus: 2000,
    allocMem: 2048 * MiB,
    usedCpus,
    usedMem: 100 * MiB,
    throttledS: 0,
    onRevocable: false,
    startedAt: 0,
    ...over,
  };
}

function batch(key: string, startedAt: number, over: Partial<TaskLoad> = {}): TaskLoad {
  return {
    key,
    allocCpus: 500,
    allocMem: 256 * MiB,
    usedCpus: 500,
    usedMem: 200 * MiB,
    throttledS: 0,
    onRevocable: true,
    startedAt,
    ...over,
  };
}

describe('decideEvictions', () => {
  it('evicts nothing while the regular tasks leave room for what the revocable ones hold', () => {
    const { evictions } = decideEvictions(
      [service(100), batch('b/1', 1), batch('b/2', 2)],
      calm,
      { cpuStreak: 0 },
      tuning,
    );
    expect(evictions).toEqual([]);
  });

  it('evicts the newest revocable tasks first, as many as cover the cpu the busy service needs back', () => {
    // Headroom 2000 × 0.8 − 1100 = 500 mcpu; revocable tasks hold 1500: 1000 must go → two tasks.
    const tasks = [service(1100), batch('b/old', 1), batch('b/mid', 2), batch('b/new', 3)];
    const { evictions } = decideEvictions(tasks, calm, { cpuStreak: 0 }, tuning);
    expect(evictions.map((e) => e.key)).toEqual(['b/new', 'b/mid']);
    expect(evictions[0]?.message).toMatch(/need their cpu back/);
  });

  it('waits for a cpu signal to last `sustain` samples, then acts and starts counting again', () => {
    const tasks = [service(1900), batch('b/1', 1)];
    const first = decideEvictions(tasks, calm, { cpuStreak: 0 }, { ...tuning, sustain: 2 });
    expect(first.evictions).toEqual([]);
    const second = decideEvictions(tasks, calm, first.state, { ...tuning, sustain: 2 });
    expect(second.evictions.map((e) => e.key)).toEqual(['b/1']);
    expect(second.state.cpuStreak).toBe(0);
  });

  it('evicts one task per sample on cpu contention: a throttled regular task on a busy machine', () => {
    const tasks = [service(100, { throttledS: 0.3 }), batch('b/1', 1), batch('b/2', 2)];
    const { evictions } = decideEvictions(tasks, { ...calm, idle: 0.02 }, { cpuStreak: 0 }, tuning);
    expect(evictions.map((e) => e.key)).toEqual(['b/2']);
    expect(evictions[0]?.message).toMatch(/cpu contention/);
  });

  it('does not call a throttled task on an idle machine contention', () => {
    const tasks = [service(100, { throttledS: 0.3 }), batch('b/1', 1)];
    expect(decideEvictions(tasks, calm, { cpuStreak: 0 }, tuning).evictions).toEqual([]);
  });

  it('evicts at once under memory pressure, enough to give back the missing memory', () => {
    const tasks = [service(100), batch('b/1', 1), batch('b/2', 2), batch('b/3', 3)];
    const machine = { idle: 0.9, memAvailable: 100 * MiB };
    // 156 MiB missing under 256 MiB; each revocable task frees 256 MiB: one is enough.
    const { evictions } = decideEvictions(tasks, machine, { cpuStreak: 0 }, { ...tuning, sustain: 5 });
    expect(evictions.map((e) => e.key)).toEqual(['b/3']);
    expect(evictions[0]?.message).toMatch(/memory pressure/);
  });

  it('evicts when the regular tasks use memory the revocable ones hold', () => {
    const tasks = [service(100, { usedMem: 1500 * MiB }), batch('b/1', 1), batch('b/2', 2)];
    // Headroom 2048 × 0.8 − 1500 = 138 MiB < 512 MiB held: both go.
    const { evictions } = decideEvictions(tasks, calm, { cpuStreak: 0 }, { ...tuning, sustain: 5 });
    expect(evictions.map((e) => e.key)).toEqual(['b/2', 'b/1']);
  });

  it('never evicts a regular task, and after the evictions what is left fits the headroom (property)', () => {
    const load = fc.record({
      allocCpus: fc.integer({ min: 1, max: 8000 }),
      allocMem: fc.integer({ min: 1, max: 8192 }).map((m) => m * MiB),
      usedCpus: fc.nat(9000),
      usedMem: fc.nat(9000).map((m) => m * MiB),
      throttledS: fc.constantFrom(0, 0.5),
      onRevocable: fc.boolean(),
      startedAt: fc.nat(1000),
    });
    fc.assert(
      fc.property(fc.array(load, { maxLength: 12 }), (loads) => {
        const tasks = loads.map((l, i) => ({ ...l, key: `t/${i}` }));
        const { evictions } = decideEvictions(tasks, calm, { cpuStreak: 0 }, tuning);
        const evicted = new Set(evictions.map((e) => e.key));
        expect(tasks.filter((t) => evicted.has(t.key)).every((t) => t.onRevocable)).toBe(true);
        const kept = tasks.filter((t) => t.onRevocable && !evicted.has(t.key));
        const regular = tasks.filter((t) => !t.onRevocable);
        const roomCpus = regular.reduce((n, t) => n + Math.max(0, t.allocCpus * 0.8 - t.usedCpus), 0);
        const roomMem = regular.reduce((n, t) => n + Math.max(0, t.allocMem * 0.8 - t.usedMem), 0);
        expect(kept.reduce((n, t) => n + t.allocCpus, 0)).toBeLessThanOrEqual(Math.floor(roomCpus));
        expect(kept.reduce((n, t) => n + t.allocMem, 0)).toBeLessThanOrEqual(Math.floor(roomMem));
        // Newest first: every evicted task is newer than (or as new as) every kept one.
        const oldestEvicted = Math.min(...tasks.filter((t) => evicted.has(t.key)).map((t) => t.startedAt));
        expect(kept.every((t) => t.startedAt <= oldestEvicted)).toBe(true);
      }),
    );
  });
});
