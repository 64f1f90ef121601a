/**
 * The `disk-du` fallback on the real kernel: a task that writes past its quota is killed with
 * reason `disk-limit`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { LinuxLauncher } from '../../agent/containerizer/linux-launcher.js';
import { createLogger } from '../../core/logger.js';
import { Limits } from '../../proto/gen/galaxy/v1/common.js';
import { loadIsolators } from '../index.js';

describe('disk-du isolator', () => {
  it('kills a task whose sandbox outgrows its quota, with reason disk-limit', async () => {
    const driver = detectCgroupDriver();
    const workDir = await mkdtemp(join(tmpdir(), 'galaxy-du-'));
    const sandbox = join(workDir, 'sandbox');
    await mkdir(sandbox);
    const cgroupRoot = `galaxy-du-test-${randomBytes(4).toString('hex')}`;
    const launcher = new LinuxLauncher({
      driver,
      cgroupRoot,
      isolators: await loadIsolators('memory,disk-du', { driver, root: 'galaxy-test', workDir }),
      workDir,
      log: createLogger('test', 'silent'),
    });
    try {
      const p = await launcher.launch({
        containerId: 'c1',
        command: {
          shell: 'i=0; while [ $i -lt 64 ]; do head -c 1048576 /dev/zero > f$i; i=$((i+1)); sleep 0.02; done; sleep 30',
          argv: [],
          env: {},
          user: '',
        },
        resources: { cpus: 100, mem: 64 * 1024 * 1024, disk: 4 * 1024 * 1024, gpus: 0, ports: [] },
        limits: Limits.create(),
        sandbox,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        stdoutPath: join(sandbox, 'stdout'),
        stderrPath: join(sandbox, 'stderr'),
      });
      const exit = await p.exited;
      expect(exit.limitation?.reason).toBe('disk-limit');
      expect(exit.limitation?.message).toContain('4MiB');
    } finally {
      await launcher.close();
      await rm(workDir, { recursive: true, force: true });
    }
  });
});
