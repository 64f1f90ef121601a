/**
 * The v2 driver against a temp-dir cgroupfs: this machine runs v1, so what is checked here is
 * the file semantics — which files the driver writes and how it translates v1 keys.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Limits } from '../../proto/gen/galaxy/v1/common.js';
import { diskOf } from '../../isolators/blkio/index.js';
import type { Container, Isolator } from '../../isolators/isolator.js';
import { loadIsolators } from '../../isolators/index.js';
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
    expect(await read('c/io.weight')).toBe('default 100'); // both defaults: v1 500, v2 100
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

  it('refuses v1 settings v2 cannot express, writing nothing', async () => {
    await mkdir(join(mount, 'c'), { recursive: true });
    for (const key of ['blkio.leaf_weight', 'memory.swappiness', 'cpu.rt_runtime_us', 'memory.kmem.limit_in_bytes']) {
      await expect(driver.set('memory', 'c', key, '1')).rejects.toThrow(/GALAXY_E_CGROUP_UNSUPPORTED|cannot express/);
    }
    await expect(driver.set('blkio', 'c', 'blkio.throttle.read_bps_device', 'sda 10')).rejects.toThrow(/major/);
    await expect(driver.set('memory', 'c', 'memory.memsw.limit_in_bytes', '100')).rejects.toThrow(
      /memory.limit_in_bytes first/,
    );
    await writeFile(join(mount, 'c/memory.max'), '200\n');
    await expect(driver.set('memory', 'c', 'memory.memsw.limit_in_bytes', '100')).rejects.toThrow(
      /below the memory limit/,
    );
    expect((await readdir(join(mount, 'c'))).sort()).toEqual(['memory.max']);
  });
});

describe('every built-in cgroup isolator on cgroup v2', () => {
  it("writes v2 files that carry the task's limits: cpu, memory (soft and swap), pids, blkio weight and throttles", async () => {
    const isolators = await loadIsolators('cpu,memory,pids,blkio', { driver, root: 'galaxy-v2', workDir: mount });
    const sandbox = await mkdtemp(join(tmpdir(), 'galaxy-cgv2-sandbox-'));
    try {
      const container: Container = {
        id: 'c1',
        cgroup: 'galaxy-v2/c1',
        sandbox,
        resources: { cpus: 500, mem: 64 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
        limits: Limits.fromPartial({
          cpuExcess: false,
          memSoft: 32 * 1024 * 1024,
          pidsMax: 50,
          blkioWeight: 1000,
          readBps: 1_000_000,
          writeBps: 2_000_000,
          readIops: 100,
          writeIops: 200,
        }),
        volumes: [],
        driver,
        state: new Map(),
        wrappers: [],
        env: {},
        mounts: [],
      };
      await driver.create(
        container.cgroup,
        isolators.flatMap((i: Isolator) => i.controllers),
      );
      for (const isolator of isolators) await isolator.prepare?.(container);
      const device = await diskOf(sandbox);
      const file = (name: string) => read(`galaxy-v2/c1/${name}`);
      expect(await file('cpu.weight')).toBe(String(sharesToWeight(512)));
      expect(await file('cpu.max')).toBe('50000 100000');
      expect(await file('memory.max')).toBe(String(64 * 1024 * 1024));
      expect(await file('memory.high')).toBe(String(32 * 1024 * 1024));
      expect(await file('memory.swap.max')).toBe('0');
      expect(await file('pids.max')).toBe('50');
      expect(await file('io.weight')).toBe('default 200');
      expect((await file('io.max')).trim().split('\n')).toEqual([
        `${device} rbps=1000000`,
        `${device} wbps=2000000`,
        `${device} riops=100`,
        `${device} wiops=200`,
      ]);
      // Nothing but v2 files was written: no v1 name leaked through as a file of its own.
      const written = await readdir(join(mount, 'galaxy-v2/c1'));
      expect(written.filter((name) => /_in_bytes|blkio\.|cfs_|shares/.test(name))).toEqual([]);
    } finally {
      await rm(sandbox, { recursive: true, force: true });
    }
  });

  it('reads usage back in v1 form: io.stat as blkio service bytes, memory.peak as max usage', async () => {
    await mkdir(join(mount, 'c'), { recursive: true });
    await writeFile(join(mount, 'c/io.stat'), '254:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n');
    await writeFile(join(mount, 'c/memory.peak'), '12345\n');
    expect(await driver.get('blkio', 'c', 'blkio.throttle.io_service_bytes')).toBe('254:0 Read 4096\n254:0 Write 8192');
    expect(await driver.get('memory', 'c', 'memory.max_usage_in_bytes')).toBe('12345');
  });
});
