/**
 * The v2 driver against a temp-dir cgroupfs: this machine runs v1, so what is checked here is
 * the file semantics — which files the driver writes and how it translates v1 keys.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CgroupV2Driver, sharesToWeight } from './v2.js';

let mount = '';
let driver: CgroupV2Driver;
beforeEach(async () => {
  mount = await mkdtemp(join(tmpdir(), 'galaxy-cgv2-'));
  await writeFile(join(mount, 'cgroup.controllers'), 'cpuset cpu io memory pids\n');
  await writeFile(join(mount, 'cgroup.procs'), '');
  driver = new CgroupV2Driver(mount);
});
afterEach(async () => {
  await rm(mount, { recursive: true, force: true });
});

const read = (path: string) => readFile(join(mount, path), 'utf8');

describe('CgroupV2Driver (file semantics)', () => {
  it('reports controllers from cgroup.controllers', () => {
    expect(driver.available('memory')).toBe(true);
    expect(driver.available('blkio')).toBe(true); // io
    expect(driver.available('freezer')).toBe(true); // built in
  });

  it('delegates controllers down the tree when creating', async () => {
    await driver.create('galaxy/c1', ['cpu', 'memory', 'pids', 'freezer']);
    expect(await read('cgroup.subtree_control')).toBe('+cpu +memory +pids');
    expect(await read('galaxy/cgroup.subtree_control')).toBe('+cpu +memory +pids');
    expect(driver.exists('memory', 'galaxy/c1')).toBe(true);
    expect(driver.procsFiles('galaxy/c1')).toEqual([join(mount, 'galaxy/c1/cgroup.procs')]);
  });

  it('translates v1 keys into v2 files', async () => {
    await mkdir(join(mount, 'c'), { recursive: true });
    await driver.set('cpu', 'c', 'cpu.shares', '1024');
    expect(await read('c/cpu.weight')).toBe(String(sharesToWeight(1024)));
    await driver.set('cpu', 'c', 'cpu.cfs_period_us', '100000');
    await driver.set('cpu', 'c', 'cpu.cfs_quota_us', '50000');
    expect(await read('c/cpu.max')).toBe('50000 100000');
    await driver.set('cpu', 'c', 'cpu.cfs_quota_us', '-1');
    expect(await read('c/cpu.max')).toBe('max 100000');
    await driver.set('memory', 'c', 'memory.limit_in_bytes', '1048576');
    expect(await read('c/memory.max')).toBe('1048576');
    await driver.set('pids', 'c', 'pids.max', '64');
    expect(await read('c/pids.max')).toBe('64');
    await driver.set('blkio', 'c', 'blkio.weight', '500');
    expect(await read('c/io.weight')).toBe('default 500');
    await driver.freeze('c', true);
    expect(await read('c/cgroup.freeze')).toBe('1');
    expect(await driver.get('freezer', 'c', 'freezer.state')).toBe('FROZEN');
  });

  it('reads v2 statistics back in v1 form', async () => {
    await mkdir(join(mount, 'c'), { recursive: true });
    await writeFile(join(mount, 'c/memory.current'), '4096\n');
    await writeFile(join(mount, 'c/cpu.stat'), 'usage_usec 1500\nuser_usec 1000\n');
    await writeFile(join(mount, 'c/memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n');
    expect(await driver.get('memory', 'c', 'memory.usage_in_bytes')).toBe('4096');
    expect(await driver.get('cpuacct', 'c', 'cpuacct.usage')).toBe('1500000');
    expect(await driver.get('memory', 'c', 'memory.oom_control')).toContain('oom_kill 1');
  });

  it('maps cpu shares onto weights as systemd does', () => {
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(262_144)).toBe(10_000);
    expect(sharesToWeight(1024)).toBe(39);
  });
});
