/**
 * `galaxy quota set` reads sizes by the one rule of `core/sizes.ts`, as resource strings do.
 */
import { describe, expect, it } from 'vitest';
import { parseResources } from '../core/resources.js';
import { quotaFromFlags } from './tenancy.js';

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
