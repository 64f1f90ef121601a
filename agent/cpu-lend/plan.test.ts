/**
 * The lending decision, without I/O. Invariants over random samples and settings:
 *
 * - A loan is never negative: no container's quota goes under its request.
 * - No loan exceeds `maxLoan`.
 * - Idle under `lowIdle` takes every loan back at once, and says so when there was one.
 * - Outside a reclaim, a loan moves by at most one `step` per interval.
 * - Loans grow only while idle is above `highIdle`, only for hungry containers, and a round's
 *   grants together stay within what is idle above `highIdle`.
 * - A container that leaves a `step` of its quota unused for `patience` intervals in a row gives
 *   one back; until then its loan holds.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cpuLendConfig } from './config.js';
import { planLoans, type CpuLendConfig, type LoanSample } from './plan.js';

const config = cpuLendConfig({ highIdle: 1000, lowIdle: 500, step: 250, maxLoan: 1500 });

const sampleArb = fc.record({
  id: fc.string({ minLength: 1, maxLength: 4 }),
  requested: fc.integer({ min: 1, max: 4000 }),
  loan: fc.integer({ min: 0, max: 5000 }),
  used: fc.integer({ min: 0, max: 9000 }),
  throttled: fc.double({ min: 0, max: 1, noNaN: true }),
  spare: fc.integer({ min: 0, max: 5 }),
});
const samplesArb = fc.uniqueArray(sampleArb, { selector: (s) => s.id, maxLength: 6 });
const configArb = fc
  .record({
    lowIdle: fc.integer({ min: 0, max: 2000 }),
    gap: fc.integer({ min: 0, max: 2000 }),
    step: fc.integer({ min: 1, max: 1000 }),
    maxLoan: fc.integer({ min: 0, max: 6000 }),
  })
  .map(({ lowIdle, gap, step, maxLoan }) => cpuLendConfig({ lowIdle, highIdle: lowIdle + gap, step, maxLoan }));

const hungry = (s: LoanSample, c: CpuLendConfig) =>
  s.used >= c.busyShare * (s.requested + s.loan) || s.throttled >= c.throttledShare;

describe('planLoans invariants', () => {
  it('never lends a negative amount nor more than maxLoan, and covers every container', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8000 }), samplesArb, configArb, (idle, samples, c) => {
        const plan = planLoans(idle, samples, c);
        expect(plan.loans.size).toBe(samples.length);
        for (const loan of plan.loans.values()) {
          expect(loan).toBeGreaterThanOrEqual(0);
          expect(loan).toBeLessThanOrEqual(Math.max(c.maxLoan, 0));
        }
      }),
    );
  });

  it('takes every loan back at once when idle is under lowIdle', () => {
    fc.assert(
      fc.property(samplesArb, configArb, fc.integer({ min: 1, max: 2001 }), (samples, c, below) => {
        fc.pre(c.lowIdle >= below);
        const plan = planLoans(c.lowIdle - below, samples, c);
        for (const loan of plan.loans.values()) expect(loan).toBe(0);
        expect(plan.reclaimed).toBe(samples.some((s) => s.loan > 0));
      }),
    );
  });

  it('otherwise moves a loan by one step at most, grows only hungry containers, within the idle room', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8000 }), samplesArb, configArb, (idle, samples, c) => {
        fc.pre(idle >= c.lowIdle);
        const plan = planLoans(idle, samples, c);
        expect(plan.reclaimed).toBe(false);
        let granted = 0;
        for (const s of samples) {
          const loan = plan.loans.get(s.id) ?? NaN;
          // A loan above maxLoan (the setting was lowered) is cut to it: the only bigger move.
          if (s.loan <= c.maxLoan) expect(Math.abs(loan - s.loan)).toBeLessThanOrEqual(c.step);
          if (loan > s.loan) {
            expect(hungry(s, c)).toBe(true);
            expect(idle).toBeGreaterThan(c.highIdle);
            granted += loan - s.loan;
          }
        }
        expect(granted).toBeLessThanOrEqual(Math.max(0, idle - c.highIdle));
      }),
    );
  });

  it('takes a step back from a container that leaves a step of its quota unused for `patience` intervals', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8000 }), samplesArb, (idle, samples) => {
        fc.pre(idle >= config.lowIdle);
        const plan = planLoans(idle, samples, config);
        for (const s of samples) {
          if (hungry(s, config) || s.requested + s.loan - s.used < config.step || s.loan > config.maxLoan) continue;
          const patient = s.spare + 1 >= config.patience;
          expect(plan.loans.get(s.id)).toBe(patient ? Math.max(0, s.loan - config.step) : s.loan);
          expect(plan.spare.get(s.id)).toBe(patient ? 0 : s.spare + 1);
        }
      }),
    );
  });
});

describe('planLoans over time', () => {
  /** A container that always uses all of its quota, on a machine with `idle` idle, for `rounds` intervals. */
  function busyLoans(idle: number, rounds: number, c = config): number[] {
    let loan = 0;
    const seen: number[] = [];
    for (let i = 0; i < rounds; i += 1) {
      const plan = planLoans(idle, [{ id: 'a', requested: 500, loan, used: 500 + loan, throttled: 0.5, spare: 0 }], c);
      loan = plan.loans.get('a') ?? -1;
      seen.push(loan);
    }
    return seen;
  }

  it('lends a busy container one step per interval up to maxLoan on an idle machine', () => {
    expect(busyLoans(2000, 8)).toEqual([250, 500, 750, 1000, 1250, 1500, 1500, 1500]);
  });

  it('lends no more than what is idle above highIdle in one interval', () => {
    expect(busyLoans(1100, 1)).toEqual([100]);
    expect(busyLoans(1000, 3)).toEqual([0, 0, 0]); // at highIdle, not above it
  });

  it('holds the loans while idle is between the thresholds, and takes them back under lowIdle', () => {
    const samples = [
      { id: 'a', requested: 500, loan: 750, used: 1250, throttled: 0.3, spare: 0 },
      { id: 'b', requested: 200, loan: 250, used: 450, throttled: 0, spare: 0 },
    ];
    const held = planLoans(700, samples, config);
    expect([...held.loans]).toEqual([
      ['b', 250],
      ['a', 750],
    ]);
    expect(held.reclaimed).toBe(false);
    const back = planLoans(499, samples, config);
    expect([...back.loans.values()]).toEqual([0, 0]);
    expect(back.reclaimed).toBe(true);
  });

  it('shrinks a loan a step per `patience` intervals once its container stops using it, never under the request', () => {
    let loan = 1000;
    let spare = 0;
    const seen: number[] = [];
    for (let i = 0; i < 14; i += 1) {
      const plan = planLoans(3000, [{ id: 'a', requested: 500, loan, used: 100, throttled: 0, spare }], config);
      loan = plan.loans.get('a') ?? -1;
      spare = plan.spare.get('a') ?? -1;
      seen.push(loan);
    }
    expect(seen).toEqual([1000, 1000, 750, 750, 750, 500, 500, 500, 250, 250, 250, 0, 0, 0]);
  });

  it('keeps the loan of a container that dips for less than `patience` intervals', () => {
    const dip = { id: 'a', requested: 500, loan: 1000, used: 200, throttled: 0 };
    const first = planLoans(3000, [{ ...dip, spare: 0 }], config);
    const second = planLoans(3000, [{ ...dip, spare: first.spare.get('a') ?? -1 }], config);
    const busyAgain = planLoans(3000, [{ ...dip, used: 1500, spare: second.spare.get('a') ?? -1 }], config);
    expect([first, second, busyAgain].map((p) => p.loans.get('a'))).toEqual([1000, 1000, 1250]);
    expect(busyAgain.spare.get('a')).toBe(0);
  });

  it('gives the room to the smallest loan first', () => {
    const plan = planLoans(
      1300,
      [
        { id: 'big', requested: 100, loan: 1000, used: 1100, throttled: 0.5, spare: 0 },
        { id: 'small', requested: 100, loan: 0, used: 100, throttled: 0.5, spare: 0 },
      ],
      config,
    );
    expect(plan.loans.get('small')).toBe(250);
    expect(plan.loans.get('big')).toBe(1050); // what was left of the 300 of room
  });

  it('counts a throttled container as hungry even when its average use is lower', () => {
    const plan = planLoans(3000, [{ id: 'a', requested: 1000, loan: 0, used: 600, throttled: 0.2, spare: 0 }], config);
    expect(plan.loans.get('a')).toBe(250);
  });
});

describe('cpuLendConfig', () => {
  it('refuses settings that cannot work, naming the flag', () => {
    expect(() => cpuLendConfig({ lowIdle: 900, highIdle: 800 })).toThrow(/--cpu-lend-low-idle 900: must be ≤/);
    expect(() => cpuLendConfig({ step: 0 })).toThrow(/GALAXY_E_INVALID_ARGUMENT: --cpu-lend-step 0/);
    expect(() => cpuLendConfig({ intervalMs: 10 })).toThrow(/--cpu-lend-interval 10/);
    expect(() => cpuLendConfig({ maxLoan: -1 })).toThrow(/--cpu-lend-max -1/);
    expect(() => cpuLendConfig({ highIdle: Number.NaN })).toThrow(/--cpu-lend-high-idle NaN/);
  });
});
