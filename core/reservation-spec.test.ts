import { describe, expect, it } from 'vitest';
import { parseResources } from './resources.js';
import { checkReservationsFit, parseReservations, parseReservedAmounts } from './reservation-spec.js';

const GiB = 1024 ** 3;

describe('reservation specs', () => {
  it('parses --reserve with several roles and the CLI amounts', () => {
    expect(parseReservations('eng:cpus=2,mem=4GiB; ops/web:cpus=0.5')).toEqual([
      { role: 'eng', resources: { cpus: 2000, mem: 4 * GiB, disk: 0, gpus: 0, ports: [] } },
      { role: 'ops/web', resources: { cpus: 500, mem: 0, disk: 0, gpus: 0, ports: [] } },
    ]);
    expect(parseReservations('')).toEqual([]);
    expect(parseReservedAmounts('cpus=1,disk=10GiB', 'x')).toMatchObject({ cpus: 1000, disk: 10 * GiB });
  });

  it('refuses malformed specs with a message naming the problem', () => {
    expect(() => parseReservations('cpus=2')).toThrow(/--reserve: expected role:cpus=…/);
    expect(() => parseReservations('*:cpus=2')).toThrow(/role \*/);
    expect(() => parseReservations('Bad Role:cpus=2')).toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    expect(() => parseReservations('eng:cpus=1;eng:mem=1GiB')).toThrow(/given twice/);
    expect(() => parseReservations('eng:cpus:2')).toThrow(/expected name=value/);
    expect(() => parseReservations('eng:ports=[1-2]')).toThrow(/ports cannot be reserved/);
    expect(() => parseReservations('eng:bogus=1')).toThrow(/unknown resource "bogus"/);
    expect(() => parseReservations('eng:cpus=0')).toThrow(/reservation of nothing/);
    expect(() => parseReservedAmounts('mem=lots', 'galaxy reserve')).toThrow(/galaxy reserve\.mem: cannot read "lots"/);
  });

  it('checks that reservations fit the agent', () => {
    const total = parseResources('cpus:4;mem:8GiB');
    expect(() => {
      checkReservationsFit(parseReservations('a:cpus=2;b:cpus=2,mem=8GiB'), total, 'x');
    }).not.toThrow();
    expect(() => {
      checkReservationsFit(parseReservations('a:cpus=3;b:cpus=2'), total, '--reserve');
    }).toThrow(/GALAXY_E_RESERVATION_INVALID: --reserve: reservations of cpus:5/);
  });
});
