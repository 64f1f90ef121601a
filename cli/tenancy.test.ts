/**
 * `galaxy quota set` reads sizes by the one rule of `core/sizes.ts`, as resource strings do.
 */
import { describe, expect, it } from 'vitest';
import { parseResources } from '../core/resources.js';
import { quotaFromFlags, quotaLines } from './tenancy.js';

const GiB = 1024 ** 3;

describe('sizes on the command line', () => {
  it('quota flags and resource strings take 8Gi and refuse a bare number', () => {
    expect(quotaFromFlags({ mem: '8Gi', disk: '20GiB', master: '', output: '' }).limit).toMatchObject({
      mem: 8 * GiB,
      disk: 20 * GiB,
    });
    expect(() => quotaFromFlags({ mem: '8192', master: '', output: '' })).toThrow('--mem: "8192" has no unit');
    expect(parseResources('cpus:1;mem:4Gi').mem).toBe(4 * GiB);
    expect(() => parseResources('cpus:1;mem:4096')).toThrow('resources.mem: "4096" has no unit');
  });
});

describe('quotas per disk medium on the command line', () => {
  it('reads --ssd and --guarantee-hdd as sizes, names the flag in errors, and shows a medium only when used', () => {
    const { limit, guarantee } = quotaFromFlags({ ssd: '100GiB', guaranteeHdd: '2TiB', master: '', output: '' });
    expect(limit).toMatchObject({ ssd: 100 * GiB });
    expect(limit.hdd).toBeUndefined();
    expect(guarantee).toMatchObject({ hdd: 2048 * GiB });
    expect(() => quotaFromFlags({ guaranteeTmpfs: '12', master: '', output: '' })).toThrow(
      '--guarantee-tmpfs: "12" has no unit',
    );
    const rows = quotaLines({
      user: 'alice',
      limit: { ssd: 100 * GiB },
      guarantee: {},
      used: { hdd: GiB },
      claims: [],
    });
    expect(rows.map((r) => r.resource)).toEqual(['cpus', 'mem', 'disk', 'ssd', 'hdd', 'replicas']);
    expect(rows.find((r) => r.resource === 'ssd')).toMatchObject({ limit: '100GiB', used: '0B' });
  });
});
