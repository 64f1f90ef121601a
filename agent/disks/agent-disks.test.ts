import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverMachine } from '../discovery.js';
import { resolveAgentDisks } from './agent-disks.js';
import { mountedDiskSize, parseDiskMedia } from './discover-disks.js';

let root: string;
let work: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'galaxy-agent-disks-'));
  work = join(root, 'work');
  await mkdir(work);
  await mkdir(join(root, 'ssd1'));
  await writeFile(join(root, 'file'), '');
  await symlink(join(root, 'ssd1'), join(root, 'link'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the agent checks --disks on its machine', () => {
  it('reports its disks in its total: named, and counted in disk', async () => {
    const machine = await discoverMachine({
      workDir: work,
      resources: 'disk:1GiB',
      disks: `ssd1:${root}/ssd1:ssd:2GiB`,
    });
    expect(machine.total.disk).toBe(3 * 1024 ** 3);
    expect(machine.total.namedDisks?.disks).toEqual([
      { name: 'ssd1', medium: 'ssd', size: 2 * 1024 ** 3, capacity: 2 * 1024 ** 3, exclusive: false },
    ]);
    expect(machine.disks.map((d) => d.path)).toEqual([`${root}/ssd1`]);
  });

  it.each([
    ['a missing path', () => `d:${root}/nope:ssd:1GiB`, 'does not exist'],
    ['a file', () => `d:${root}/file:ssd:1GiB`, 'is not a directory'],
    ['a link', () => `d:${root}/link:ssd:1GiB`, 'is a link to'],
    ['the work dir', () => `d:${work}:ssd:1GiB`, "holds or is inside the agent's work dir"],
    ['a parent of the work dir', () => `d:${root}:ssd:1GiB`, "holds or is inside the agent's work dir"],
  ])('refuses %s with a coded error, and makes nothing', async (_what, spec, message) => {
    const before = await readdir(root);
    await expect(resolveAgentDisks({ disks: spec() }, work)).rejects.toMatchObject({ code: 'GALAXY_E_DISK_INVALID' });
    await expect(resolveAgentDisks({ disks: spec() }, work)).rejects.toThrow(message);
    expect(await readdir(root)).toEqual(before);
    expect(await readdir(join(root, 'ssd1'))).toEqual([]);
  });
});

describe('a discovered disk', () => {
  it('offers its filesystem less a reserve of 1%, 8MiB to 1GiB, in whole MiB', () => {
    const MiB = 1024 ** 2;
    expect(mountedDiskSize(48 * MiB)).toBe(40 * MiB);
    expect(mountedDiskSize(10 * 1024 * MiB)).toBe(10137 * MiB); // 10240MiB less 102.4MiB
    expect(mountedDiskSize(1024 ** 4)).toBe(1024 ** 4 - 1024 ** 3);
    expect(mountedDiskSize(4 * MiB)).toBe(0);
  });

  it('takes --disk-medium as name:medium, and refuses anything else', () => {
    expect([...parseDiskMedia('ssd0:ssd; hdd1:hdd')]).toEqual([
      ['ssd0', 'ssd'],
      ['hdd1', 'hdd'],
    ]);
    for (const bad of ['ssd0', 'ssd0:nvme', 'Ssd0:ssd', 'a:ssd:x', 'a:ssd,a:hdd'])
      expect(() => parseDiskMedia(bad)).toThrow(expect.objectContaining({ code: 'GALAXY_E_DISK_INVALID' }));
  });
});
