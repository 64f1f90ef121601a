import { describe, expect, it } from 'vitest';
import type { GetAccountingResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { usageSeries } from './usage-series.js';

function report(rows: [string, string, number, number, number?][]): GetAccountingResponse {
  return {
    rows: rows.map(([user, pool, used, allocated, revocable = 0]) => ({
      user,
      pool,
      used: { cpuMs: used, memBs: used * 10, diskBs: 0 },
      allocated: { cpuMs: allocated, memBs: allocated * 10, diskBs: 0 },
      revocable: { cpuMs: revocable, memBs: revocable * 10, diskBs: 0 },
    })),
    fromS: 0,
    toS: 0,
  };
}

describe('usageSeries: per-minute usage from the ledger’s "last k minutes" totals', () => {
  it('differences consecutive totals, oldest minute first, summing a user’s pools, revocable apart', () => {
    const totals = [
      undefined,
      report([['alice', 'default', 100, 200]]),
      report([
        ['alice', 'default', 250, 400],
        ['alice', 'web', 50, 50, 70],
        ['bob', 'default', 30, 60],
      ]),
    ];
    const series = usageSeries(totals, 600 + 17);
    expect(series.alice).toEqual([
      {
        at: 540,
        cpuMs: 200,
        memBs: 2000,
        allocatedCpuMs: 250,
        allocatedMemBs: 2500,
        revocableCpuMs: 70,
        revocableMemBs: 700,
      },
      {
        at: 600,
        cpuMs: 100,
        memBs: 1000,
        allocatedCpuMs: 200,
        allocatedMemBs: 2000,
        revocableCpuMs: 0,
        revocableMemBs: 0,
      },
    ]);
    expect(series.bob?.map((p) => p.cpuMs)).toEqual([30, 0]);
  });

  it('never reports negative usage when a bucket was retired between two reads', () => {
    const totals = [undefined, report([['carol', 'p', 500, 500]]), report([['carol', 'p', 400, 400]])];
    expect(usageSeries(totals, 0).carol?.[0]?.cpuMs).toBe(0);
  });
});
