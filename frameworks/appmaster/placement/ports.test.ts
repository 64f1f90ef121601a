import { describe, expect, it } from 'vitest';
import { lowestFree, pickPorts } from './ports.js';

const RANGES = [
  { begin: 31005, end: 31010 },
  { begin: 31000, end: 31001 },
];

describe('port assignment', () => {
  it('takes the lowest free numbers across ranges, skipping taken ones', () => {
    expect(lowestFree(RANGES, 3, new Set([31000]))).toEqual([31001, 31005, 31006]);
    expect(lowestFree(RANGES, 20, new Set())).toHaveLength(8);
  });

  it('gives fixed ports their number and dynamic ones the lowest others', () => {
    const pick = pickPorts(
      [
        { name: 'http', port: 'dynamic' },
        { name: 'admin', port: 31000 },
        { name: 'grpc', port: 'dynamic' },
      ],
      RANGES,
    );
    expect(pick).toEqual({ ok: true, ports: { http: 31001, admin: 31000, grpc: 31005 } });
  });

  it('refuses a fixed port outside the free ranges, naming it', () => {
    expect(pickPorts([{ name: 'http', port: 8080 }], RANGES)).toEqual({ ok: false, reason: 'port 8080 taken' });
  });

  it('refuses when the ranges hold too few ports for the dynamic ones', () => {
    const ports = [
      { name: 'a', port: 31000 },
      ...['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'].map((name) => ({ name, port: 'dynamic' as const })),
    ];
    expect(pickPorts(ports, RANGES)).toEqual({ ok: false, reason: 'not enough free ports' });
    expect(pickPorts(ports.slice(0, 8), RANGES).ok).toBe(true);
  });
});
