/**
 * The replay's usage model and a simulated agent's oversubscription over it, without I/O: outside
 * its machine's peak the agent lends what its regular tasks leave beyond the margin (once the
 * estimator's window is full), and at the peak the QoS evicts its revocable tasks, newest first.
 */
import { describe, expect, it } from 'vitest';
import { Band } from '../proto/gen/galaxy/v1/common.js';
import { DEFAULT_USAGE_MODEL, inPeak, machinePhase, usedFraction } from './usage-model.js';
import { SimReclaim, type ReclaimTask } from './sim-reclaim.js';

const GIB = 1024 ** 3;

describe('usage model', () => {
  it('peaks once per period for peakS, at a phase of each machine', () => {
    const phase = machinePhase('machine-1');
    expect(phase).toBe(machinePhase('machine-1'));
    expect(phase).not.toBe(machinePhase('machine-2'));
    const { periodS, peakS } = DEFAULT_USAGE_MODEL;
    let peakSeconds = 0;
    for (let s = 0; s < periodS; s++) if (inPeak(phase, 10 * periodS + s)) peakSeconds++;
    expect(peakSeconds).toBe(peakS);
    // The peak's start: phase × period before a period's end.
    const start = (1 - phase) * periodS;
    expect(inPeak(phase, Math.ceil(start))).toBe(true);
    expect(inPeak(phase, Math.floor(start) - 1)).toBe(false);
    expect(usedFraction(true, phase, Math.ceil(start))).toBe(DEFAULT_USAGE_MODEL.peakFraction);
    expect(usedFraction(true, phase, Math.floor(start) - 1)).toBe(DEFAULT_USAGE_MODEL.serviceFraction);
    expect(usedFraction(false, phase, Math.floor(start) - 1)).toBe(DEFAULT_USAGE_MODEL.batchFraction);
  });
});

describe('SimReclaim', () => {
  it('lends beyond the margin outside the peak and evicts the newest revocable tasks at it', () => {
    const host = 'sim-host-7';
    const phase = machinePhase(host);
    const { periodS } = DEFAULT_USAGE_MODEL;
    const peakStart = Math.ceil((1 - phase) * periodS) + periodS;
    const quiet = peakStart - 200;
    const reports: { cpus: number; mem: number }[] = [];
    const evicted: string[] = [];
    const reclaim = new SimReclaim({
      hostname: host,
      report: (e) => reports.push(e),
      evict: (key) => evicted.push(key),
    });
    const service: ReclaimTask = {
      key: 'am/web-0',
      cpus: 10_000,
      mem: 40 * GIB,
      band: Band.BAND_PRODUCTION,
      onRevocable: false,
      startedAt: 1,
    };
    // Outside the peak a service uses 30 %: 80 % − 30 % = half of it is lent, after a full window (3).
    for (let i = 0; i < 3; i++) reclaim.sample([service], quiet + i);
    expect(reports).toEqual([
      { cpus: 0, mem: 0 },
      { cpus: 5000, mem: 20 * GIB },
    ]);
    const lent = (key: string, startedAt: number): ReclaimTask => ({
      key,
      cpus: 2000,
      mem: 8 * GIB,
      band: Band.BAND_BATCH,
      onRevocable: true,
      startedAt,
    });
    const tasks = [service, lent('batch/old', 10), lent('batch/new', 20)];
    reclaim.sample(tasks, quiet + 3);
    expect(evicted).toEqual([]);
    // At the peak the service uses 95 %, past the QoS line at 90 %: memory is taken back at once,
    // every revocable task goes (nothing is left beyond the margin), the newest first.
    reclaim.sample(tasks, peakStart + 1);
    expect(evicted).toEqual(['batch/new', 'batch/old']);
    expect(reports.at(-1)).toEqual({ cpus: 0, mem: 0 });
    // A re-registration makes the next estimate go out even if unchanged.
    const before = reports.length;
    reclaim.registered();
    reclaim.sample([service], peakStart + 2);
    expect(reports.length).toBe(before + 1);
  });
});
