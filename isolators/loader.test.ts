/**
 * Isolators by name or module path, including the example custom isolator, run in a real container.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../agent/cgroups/index.js';
import { LinuxLauncher } from '../agent/containerizer/linux-launcher.js';
import { createLogger } from '../core/logger.js';
import { apiCompatible } from '../core/plugin-loader.js';
import { BUILTIN_ISOLATORS, ISOLATOR_API_VERSION, loadIsolators } from './index.js';
import { Limits } from '../proto/gen/galaxy/v1/common.js';

const driver = detectCgroupDriver();
const example = fileURLToPath(new URL('../examples/isolators/sandbox-marker.ts', import.meta.url));

describe('built-in isolator metadata', () => {
  it("names each plugin as it is listed and admits this Galaxy's isolator API", () => {
    for (const [name, plugin] of Object.entries(BUILTIN_ISOLATORS)) {
      expect(plugin.name).toBe(name);
      expect(plugin.version).toBe(ISOLATOR_API_VERSION);
      expect(apiCompatible(plugin.galaxyApi, ISOLATOR_API_VERSION)).toBe(true);
    }
  });
});

describe('loadIsolators', () => {
  it('loads built-ins and module paths in order, and refuses unknown or repeated names', async () => {
    const isolators = await loadIsolators(`cpu,memory,pids,${example}`, {
      driver,
      root: 'galaxy-test',
      workDir: tmpdir(),
    });
    expect(isolators.map((i) => i.name)).toEqual(['cpu', 'memory', 'pids', 'sandbox-marker']);
    await expect(
      loadIsolators('cpu,gpu-magic', { driver, root: 'galaxy-test', workDir: tmpdir() }),
    ).rejects.toMatchObject({ code: 'GALAXY_E_PLUGIN_LOAD' });
    await expect(loadIsolators('cpu,cpu', { driver, root: 'galaxy-test', workDir: tmpdir() })).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_ARGUMENT',
    });
  });

  it('runs the example custom isolator in a real container', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'galaxy-iso-'));
    const sandbox = join(workDir, 'sandbox');
    await mkdir(sandbox);
    const cgroupRoot = `galaxy-iso-test-${randomBytes(4).toString('hex')}`;
    const launcher = new LinuxLauncher({
      driver,
      cgroupRoot,
      isolators: await loadIsolators(`memory,${example}`, { driver, root: 'galaxy-test', workDir }),
      workDir,
      log: createLogger('test', 'silent'),
    });
    try {
      const p = await launcher.launch({
        containerId: 'c1',
        command: { shell: 'cat CONTAINER; head -c 4096 /dev/zero > blob; sleep 5', argv: [], env: {}, user: '' },
        resources: { cpus: 100, mem: 32 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
        limits: Limits.create(),
        sandbox,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        stdoutPath: join(sandbox, 'stdout'),
        stderrPath: join(sandbox, 'stderr'),
      });
      await new Promise((r) => setTimeout(r, 300));
      const usage = await launcher.usage('c1');
      expect(usage.diskBytes).toBeGreaterThanOrEqual(4096);
      expect(usage.memBytes).toBeGreaterThan(0);
      await p.kill(1000);
      expect(await readFile(join(sandbox, 'stdout'), 'utf8')).toBe('c1 cpus=100m mem=33554432\n');
    } finally {
      await launcher.close();
      await rm(workDir, { recursive: true, force: true });
    }
    expect(driver.exists('memory', cgroupRoot)).toBe(false);
  });
});
