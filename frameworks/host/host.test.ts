/**
 * The framework host: a plugin loaded by module path runs against a real master and agent, its
 * events pass through the host's hooks, and bad plugins are refused with coded errors.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { createLogger } from '../../core/logger.js';
import { startMaster, type Master } from '../../master/master.js';
import { TaskState, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../../test/helpers/async-queue.js';
import hello from '../../examples/frameworks/hello-plugin.js';
import { runFramework } from './host.js';

let workDir = '';
let master: Master;
let agent: Agent;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-host-'));
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100 },
  });
  agent = await startAgent({ master: master.address, workDir, resources: 'cpus:1;mem:1GiB', logLevel: 'silent' });
});

afterAll(async () => {
  await agent.stop();
  await master.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('framework host', () => {
  it('hosts the example plugin from its module path; its events pass through the hooks', async () => {
    const path = fileURLToPath(new URL('../../examples/frameworks/hello-plugin.ts', import.meta.url));
    const seen: TaskStatus[] = [];
    const handle = await runFramework(path, {
      master: master.address,
      options: { count: '4' },
      log: createLogger('hello', 'silent'),
    });
    handle.hooks.statusUpdate.tap('test', (status) => seen.push(status));
    try {
      expect(handle.framework.info.name).toBe('hello');
      const loaded = (await import(path)) as { default: typeof hello };
      await eventually(() => loaded.default.progress?.finished === 4, 10_000, 'four greetings');
      expect(seen.filter((s) => s.state === TaskState.TASK_FINISHED).length).toBeGreaterThanOrEqual(1);
      expect(master.view.frameworks().find((f) => f.info?.name === 'hello')?.suppressed).toBe(true);
    } finally {
      await handle.stop();
    }
  });

  it('refuses unknown names and modules that are not framework plugins', async () => {
    await expect(runFramework('mapreduce-someday', { master: master.address })).rejects.toMatchObject({
      code: 'GALAXY_E_PLUGIN_LOAD',
    });
    const dir = await mkdtemp(join(tmpdir(), 'galaxy-host-bad-'));
    try {
      await writeFile(
        join(dir, 'not-a-framework.mjs'),
        "export default { kind: 'framework', name: 'x', version: '1.0.0', galaxyApi: '^1' };\n",
      );
      await expect(runFramework(join(dir, 'not-a-framework.mjs'), { master: master.address })).rejects.toMatchObject({
        code: 'GALAXY_E_PLUGIN_LOAD',
      });
      await writeFile(
        join(dir, 'future.mjs'),
        "export default { kind: 'framework', name: 'future', version: '1.0.0', galaxyApi: '^2', create() {} };\n",
      );
      await expect(runFramework(join(dir, 'future.mjs'), { master: master.address })).rejects.toMatchObject({
        code: 'GALAXY_E_PLUGIN_INCOMPATIBLE',
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
