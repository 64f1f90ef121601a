/**
 * Disk volumes on the real kernel (docs/disks.md): a volume is a loop-mounted ext4 image of
 * exactly its size on its named disk, bound into the container; writing past it gets ENOSPC; a
 * container's own volume goes with it; a persistent one keeps its data for the next container
 * (whose user namespace differs) until destroyed; an exclusive disk refuses a second volume; and
 * after every case nothing is left mounted or on the disks.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { LinuxLauncher } from '../../agent/containerizer/linux-launcher.js';
import { createSandbox } from '../../agent/sandbox.js';
import { createLogger } from '../../core/logger.js';
import type { DiskEntry } from '../../core/disks.js';
import { Limits, Volume, Volume_Kind, type Resources } from '../../proto/gen/galaxy/v1/common.js';
import { loadIsolators } from '../index.js';
import { mountsUnder, unmountImage } from '../disk/loop-image.js';
import { destroyPersistentVolume } from './destroy.js';
import { persistentVolumes, VOLUMES_DIR } from './files.js';
import { keptVolumesOn } from '../../agent/disks/kept-volumes.js';

const MiB = 1024 * 1024;
const tag = randomBytes(4).toString('hex');
let root: string;
let workDir: string;
let disks: DiskEntry[];
let launcher: LinuxLauncher;

function disk(name: string, size: number): DiskEntry {
  return {
    resource: { name, medium: 'ssd', size, capacity: size, exclusive: false },
    path: join(root, name),
  };
}

function volume(diskName: string, size: number, extra: Partial<Volume> = {}): Volume {
  return Volume.fromPartial({
    kind: Volume_Kind.DISK,
    path: 'data',
    sizeBytes: size,
    diskName,
    diskMedium: 'ssd',
    readOnly: false,
    ...extra,
  });
}

function resources(volumes: readonly Volume[]): Resources {
  const size = volumes.reduce((sum, v) => sum + v.sizeBytes, 0);
  return {
    cpus: 100,
    mem: 64 * MiB,
    disk: size,
    gpus: 0,
    ports: [],
    namedDisks: {
      disks: volumes.map((v) => ({
        name: v.diskName,
        medium: 'ssd',
        size: v.sizeBytes,
        capacity: v.sizeBytes,
        exclusive: v.diskExclusive,
      })),
    },
  };
}

let seq = 0;
async function launch(shell: string, volumes: Volume[]) {
  seq += 1;
  const id = `dv${tag}-${seq}`;
  const sandbox = await createSandbox(workDir, 'fw', id, 'run');
  const p = await launcher.launch({
    containerId: id,
    command: { shell, argv: [], env: {}, user: '' },
    resources: resources(volumes),
    limits: Limits.create(),
    volumes,
    sandbox,
    env: { PATH: '/usr/bin:/bin' },
    stdoutPath: join(sandbox, 'stdout'),
    stderrPath: join(sandbox, 'stderr'),
  });
  return {
    p,
    id,
    output: async () =>
      (await readFile(join(sandbox, 'stdout'), 'utf8')) + (await readFile(join(sandbox, 'stderr'), 'utf8')),
  };
}

async function imagesOnDisks(): Promise<string[]> {
  const out: string[] = [];
  for (const d of disks) out.push(...(await readdir(join(d.path, VOLUMES_DIR)).catch(() => [] as string[])));
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'galaxy-dv-'));
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-dv-work-'));
  disks = [disk('d1', 64 * MiB), disk('d2', 64 * MiB)];
  for (const d of disks) await mkdir(d.path);
  const driver = detectCgroupDriver();
  launcher = new LinuxLauncher({
    driver,
    cgroupRoot: `galaxy-dv-test-${tag}`,
    isolators: await loadIsolators('memory', { driver, root: `galaxy-dv-test-${tag}`, workDir }),
    workDir,
    disks,
    log: createLogger('test', 'silent'),
  });
});

afterAll(async () => {
  await launcher.close();
  for (const m of await mountsUnder(join(workDir, 'volumes'))) await unmountImage(m);
  await rm(root, { recursive: true, force: true });
  await rm(workDir, { recursive: true, force: true });
});

describe('disk volumes', () => {
  it('holds a task to its volume size: writing past it gets ENOSPC; the volume goes with its container', async () => {
    const { p, output } = await launch(
      'dd if=/dev/zero of=data/big bs=1M count=40 2>&1; echo "rc=$?"; df -B1 data | tail -1',
      [volume('d1', 16 * MiB)],
    );
    expect((await p.exited).code).toBe(0);
    const text = await output();
    expect(text).toContain('No space left on device');
    expect(text).not.toContain('rc=0');
    expect(await mountsUnder(join(workDir, 'volumes'))).toEqual([]);
    expect(await imagesOnDisks()).toEqual([]);
  });

  it('keeps a persistent volume for the next container of the same key, until it is destroyed', async () => {
    const v = volume('d1', 16 * MiB, { diskPersistent: true, diskVolumeId: 'fw1/kv/data' });
    const first = await launch('echo hello > data/key && id -u > data/writer', [v]);
    expect((await first.p.exited).code).toBe(0);
    expect(await mountsUnder(join(workDir, 'volumes'))).toEqual([]);
    expect((await persistentVolumes(disks)).map((r) => [r.frameworkId, r.volumeId, r.disk])).toEqual([
      ['fw1', 'kv/data', 'd1'],
    ]);
    // Unmounted: the agent reports it kept (docs/disks.md, "Held volumes").
    expect(await keptVolumesOn(disks, workDir)).toEqual([
      { frameworkId: 'fw1', volumeId: 'kv/data', disk: 'd1', sizeBytes: 16 * MiB, exclusive: false },
    ]);
    const second = await launch('cat data/key && echo again >> data/key && echo ok', [v]);
    expect((await second.p.exited).code).toBe(0);
    expect(await second.output()).toContain('hello\nok');

    expect(await destroyPersistentVolume(disks, workDir, 'fw1/kv/data')).toBe(true);
    expect(await imagesOnDisks()).toEqual([]);
    expect(await destroyPersistentVolume(disks, workDir, 'fw1/kv/data')).toBe(false);
  });

  it('refuses a second volume on a disk taken whole, and destroying a volume in use; leaves nothing behind', async () => {
    const whole = volume('d2', 64 * MiB, { diskExclusive: true, diskPersistent: true, diskVolumeId: 'fw1/db/all' });
    const holder = await launch('sleep 30', [whole]);
    await expect(launch('true', [volume('d2', 16 * MiB, { path: 'other' })])).rejects.toMatchObject({
      code: 'GALAXY_E_DISK_VOLUME_FAILED',
    });
    await expect(destroyPersistentVolume(disks, workDir, 'fw1/db/all')).rejects.toMatchObject({
      code: 'GALAXY_E_DISK_VOLUME_FAILED',
    });
    // Mounted by its container: not kept; once that ends, kept with the whole disk.
    expect(await keptVolumesOn(disks, workDir)).toEqual([]);
    expect((await imagesOnDisks()).filter((f) => f.startsWith('t-'))).toEqual([]);
    await holder.p.kill(1000);
    expect(await mountsUnder(join(workDir, 'volumes'))).toEqual([]);
    expect(await keptVolumesOn(disks, workDir)).toEqual([
      { frameworkId: 'fw1', volumeId: 'db/all', disk: 'd2', sizeBytes: 64 * MiB, exclusive: true },
    ]);
    expect(await destroyPersistentVolume(disks, workDir, 'fw1/db/all')).toBe(true);
    expect(await imagesOnDisks()).toEqual([]);
    expect(existsSync(join(workDir, 'volumes'))).toBe(true);
  });
});
