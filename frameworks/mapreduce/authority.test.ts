import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../core/auth/principal.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { createLogger } from '../../core/logger.js';
import { MapReduceJobState } from '../../proto/gen/galaxy/v1/mapreduce.js';
import { JobTenancy } from '../sdk/tenancy.js';
import { MapReduceScheduler } from './scheduler.js';

const dir = mkdtempSync(join(tmpdir(), 'galaxy-mr-authority-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const bob: Principal = { user: 'bob', admin: false, kind: 'user' };

describe('MapReduce authorities', () => {
  it('refuses a submit without job:create and makes nothing; show and cancel need job:list and job:remove', async () => {
    const coordinator = await openCoordinator('memory:');
    const tenancy = new JobTenancy(coordinator, 'mapreduce');
    const scheduler = new MapReduceScheduler(createLogger('mapreduce', 'silent'));
    scheduler.useTenancy(tenancy);
    const input = join(dir, 'input');
    mkdirSync(input);
    writeFileSync(join(input, 'words.txt'), 'a b a');
    const output = join(dir, 'out');
    const spec = { name: 'wc', input, output, maps: 1, reduces: 1, maxAttempts: 0 };
    try {
      await expect(scheduler.submit(spec, bob)).rejects.toThrow(
        /GALAXY_E_PERMISSION_DENIED: user bob lacks job:create in pool default/,
      );
      expect(existsSync(output)).toBe(false);
      await expect(scheduler.show('wc')).rejects.toThrow(/GALAXY_E_JOB_UNKNOWN/);

      await tenancy.grants.grant('bob', 'default', ['job:create']);
      expect((await scheduler.submit(spec, bob)).spec?.name).toBe('wc');
      expect(existsSync(output)).toBe(true);
      await expect(scheduler.show('wc', bob)).rejects.toThrow(/lacks job:list/);
      await expect(scheduler.cancel('wc', bob)).rejects.toThrow(/lacks job:remove/);
      expect((await scheduler.show('wc')).state).not.toBe(MapReduceJobState.MAPREDUCE_CANCELLED);

      await tenancy.grants.grant('bob', 'default', ['job:list', 'job:remove']);
      expect((await scheduler.show('wc', bob)).spec?.name).toBe('wc');
      expect((await scheduler.cancel('wc', bob)).state).toBe(MapReduceJobState.MAPREDUCE_CANCELLED);
    } finally {
      scheduler.detach();
      await coordinator.close();
    }
  });
});
