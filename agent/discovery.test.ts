import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../core/errors.js';
import { discoverMachine, parseAttributes } from './discovery.js';
import { createSandbox } from './sandbox.js';

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

  it('refuses task and framework ids that would escape the sandbox root', async () => {
    for (const [fw, task] of [
      ['fw', '../../etc'],
      ['..', 't'],
      ['fw', 'a/b'],
      ['fw', ''],
    ]) {
      const error: unknown = await createSandbox(tmpdir(), fw ?? '', task ?? '').catch((e: unknown) => e);
      expect(isGalaxyError(error, 'GALAXY_E_TASK_INVALID'), `${fw}/${task}`).toBe(true);
    }
  });
});
