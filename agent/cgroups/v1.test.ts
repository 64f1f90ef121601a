/**
 * The v1 driver against the real kernel (this machine has cgroup v1; tests run as root).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { CgroupV1Driver } from './v1.js';
import type { Controller } from '../../isolators/cgroup-driver.js';

const driver = new CgroupV1Driver();
const controllers: Controller[] = ['cpu', 'cpuacct', 'memory', 'pids', 'freezer'];
const root = `galaxy-test-${randomBytes(4).toString('hex')}`;

afterEach(async () => {
  for (const pid of await driver.pids('freezer', `${root}/c1`)) process.kill(pid, 'SIGKILL');
  await driver.freeze(`${root}/c1`, false).catch(() => undefined);
  await driver.remove(root, controllers);
  for (const c of controllers) expect(driver.exists(c, root)).toBe(false);
});

describe('CgroupV1Driver (real kernel)', () => {
  it('creates cgroups, sets limits, moves a process in, freezes it and removes everything', async () => {
    for (const c of controllers) expect(driver.available(c)).toBe(true);
    await driver.create(`${root}/c1`, controllers);
    await driver.set('memory', `${root}/c1`, 'memory.limit_in_bytes', String(64 * 1024 * 1024));
    expect(await driver.get('memory', `${root}/c1`, 'memory.limit_in_bytes')).toBe(String(64 * 1024 * 1024));
    await driver.set('pids', `${root}/c1`, 'pids.max', '16');
    expect(await driver.get('pids', `${root}/c1`, 'pids.max')).toBe('16');

    // A shell that joins the cgroups itself, then sleeps: how the containerizer starts tasks.
    const files = driver.procsFiles(`${root}/c1`, controllers);
    const child = spawn('/bin/sh', ['-c', 'for f in "$@"; do echo $$ > "$f"; done; exec sleep 30', 'sh', ...files], {
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(await driver.pids('memory', `${root}/c1`)).toEqual([child.pid]);
    expect(await driver.pids('pids', `${root}/c1`)).toEqual([child.pid]);

    await driver.freeze(`${root}/c1`, true);
    expect(await driver.get('freezer', `${root}/c1`, 'freezer.state')).toBe('FROZEN');
    await driver.freeze(`${root}/c1`, false);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await driver.children(root)).toEqual(['c1']);
  });

  it('refuses a path that escapes the root', async () => {
    await expect(driver.create('../escape', ['memory'])).rejects.toMatchObject({ code: 'GALAXY_E_INVALID_ARGUMENT' });
  });
});
