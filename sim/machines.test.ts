/** Machines from google2011's machines.csv and of one shape. */
import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../core/errors.js';
import { DEFAULT_SCALE, parseMachinesCsv, uniformMachines } from './machines.js';

const GiB = 1024 ** 3;

describe('parseMachinesCsv', () => {
  it('scales normalized capacities (1.0 = 64 cores / 256 GiB) and skips removed or empty rows', () => {
    const csv = ['0,5,0,p,0.5,0.2493', '0,6,0,p,1,1', '0,7,1,p,0.5,0.5', '0,8,0,p,,', ''].join('\n');
    const machines = parseMachinesCsv(csv);
    expect(machines.map((m) => m.traceId)).toEqual(['5', '6']);
    expect(machines[0]?.info.total.cpus).toBe(32_000);
    expect(machines[0]?.info.total.mem).toBe(Math.round(0.2493 * 256 * GiB));
    expect(machines[1]?.info.total).toMatchObject({ cpus: 64_000, mem: 256 * GiB, disk: DEFAULT_SCALE.disk });
    expect(machines[0]?.info.hostname).toBe('m5');
    expect(parseMachinesCsv(csv, DEFAULT_SCALE, 1)).toHaveLength(1);
  });
  it('refuses a malformed row, naming its line', () => {
    expect(() => parseMachinesCsv('0,5,0,p,0.5,0.25\n0,6,0,p,2,1')).toThrow(/line 2/);
    expect(() => parseMachinesCsv('0,x,0')).toThrow(/line 1/);
    try {
      parseMachinesCsv('garbage');
    } catch (error) {
      expect(isGalaxyError(error, 'GALAXY_E_INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('uniformMachines', () => {
  it('makes N named machines of one shape with ports', () => {
    const machines = uniformMachines(3, 'cpus:2;mem:1GiB');
    expect(machines.map((m) => m.info.hostname)).toEqual(['sim-0', 'sim-1', 'sim-2']);
    expect(machines[2]?.info.total).toMatchObject({ cpus: 2000, mem: GiB });
    expect(machines[0]?.info.total.ports.length).toBe(1);
  });
  it('refuses a count out of range', () => {
    expect(() => uniformMachines(0, 'cpus:1')).toThrow(/--agents/);
  });
});
