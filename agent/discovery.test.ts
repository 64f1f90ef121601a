import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { describe, expect, it } from 'vitest';
import { discoverMachine, parseAttributes } from './discovery.js';

describe('discovery', () => {
  it('discovers this machine and lets flags override single resources', async () => {
    const found = await discoverMachine({ workDir: tmpdir() });
    expect(found.total.cpus).toBeGreaterThanOrEqual(1000);
    expect(found.total.mem).toBeGreaterThan(0);
    expect(found.total.ports).toEqual([{ begin: 31000, end: 32000 }]);
    expect(found.pool).toBe('default');
    const overridden = await discoverMachine({
      workDir: tmpdir(),
      resources: 'cpus:1.5;ports:[40000-40009]',
      attributes: 'rack:r1;zone:z-2',
      pool: 'batch',
    });
    expect(overridden.total.cpus).toBe(1500);
    expect(overridden.total.mem).toBe(found.total.mem); // not named, so discovered
    expect(overridden.total.ports).toEqual([{ begin: 40000, end: 40009 }]);
    expect(overridden.attributes).toEqual([
      { key: 'rack', value: 'r1' },
      { key: 'zone', value: 'z-2' },
    ]);
    expect(overridden.pool).toBe('batch');
  });

  it('refuses malformed flags with coded errors', async () => {
    await expect(discoverMachine({ workDir: tmpdir(), resources: 'cpus:lots' })).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_RESOURCES',
    });
    await expect(discoverMachine({ workDir: tmpdir(), pool: '../x' })).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_ARGUMENT',
    });
    for (const bad of ['rack', 'rack:r1:x', 'rack:r 1', 'a:1;a:2']) {
      expect(() => parseAttributes(bad), bad).toThrow(
        expect.objectContaining({ code: 'GALAXY_E_INVALID_ARGUMENT' }) as Error,
      );
    }
  });

  it('refuses malformed --resources with a coded error naming the problem', async () => {
    for (const [bad, text] of [
      ['mem:4XB', 'cannot read "4XB"'],
      ['ports:[2-1]', 'bad port range'],
      ['cpus:-1', 'cpus must be a number'],
      ['bogus:1', 'unknown resource "bogus"'],
      ['cpus', 'expected name:value'],
      ['cpus:1;cpus:2', '"cpus" is given twice'],
    ] as const) {
      const error: unknown = await discoverMachine({ workDir: tmpdir(), resources: bad }).catch((e: unknown) => e);
      expect(error, bad).toMatchObject({ code: 'GALAXY_E_INVALID_RESOURCES' });
      expect(String(error), bad).toContain(text);
    }
  });

  it('keeps a reserve of memory and disk for the system, and takes the hostname flag', async () => {
    const found = await discoverMachine({ workDir: tmpdir(), hostname: 'node-1.example' });
    expect(found.total.mem).toBeLessThan(totalmem());
    expect(found.total.mem).toBeGreaterThanOrEqual(totalmem() - 1024 ** 3);
    expect(found.total.cpus).toBe(availableParallelism() * 1000);
    expect(found.hostname).toBe('node-1.example');
    await expect(discoverMachine({ workDir: tmpdir(), hostname: 'a b' })).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_ARGUMENT',
    });
  });
});
