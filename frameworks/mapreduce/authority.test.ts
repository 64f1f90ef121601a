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
const carol: Principal = { user: 'carol', admin: false, kind: 'user' };

describe('MapReduce authorities', () => {
  it("refuses a submit without job:create and makes nothing; show and cancel need job:list and job:remove, and job:any on another user's job", async () => {
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

      // carol holds the same authorities, but bob's job is not hers: show, cancel and its name need job:any.
      await tenancy.grants.grant('carol', 'default', ['job:create', 'job:list', 'job:remove']);
      const carolsOutput = join(dir, 'carol-out');
      const theirs = { ...spec, output: join(dir, 'out2') };
      expect((await scheduler.submit(theirs, bob)).spec?.name).toBe('wc');
      await expect(scheduler.show('wc', carol)).rejects.toThrow(
        /^GALAXY_E_PERMISSION_DENIED: user carol lacks job:any in pool default to act on job "wc", which is another user's/,
      );
      await expect(scheduler.cancel('wc', carol)).rejects.toThrow(/user carol lacks job:any/);
      await expect(scheduler.submit({ ...spec, output: carolsOutput }, carol)).rejects.toThrow(
        /^GALAXY_E_NAME_TAKEN: the job name "wc" is taken; choose another name$/,
      );
      expect(existsSync(carolsOutput)).toBe(false);
      expect((await scheduler.show('wc', bob)).state).not.toBe(MapReduceJobState.MAPREDUCE_CANCELLED);
      await tenancy.grants.grant('carol', 'default', ['job:any']);
      expect((await scheduler.cancel('wc', carol)).state).toBe(MapReduceJobState.MAPREDUCE_CANCELLED);
    } finally {
      await scheduler.detach();
      await coordinator.close();
    }
  });
});
