/**
 * Disks discovered from real mounts (`galaxy agent --disks-from`, docs/disks.md): two ext4 loop
 * images and a tmpfs are mounted under a directory, beside a directory that is not a mount point
 * and a file.
 * - Each mount is a disk named after its mount point; its size is the filesystem's (statfs, as
 *   `stat -f` prints it) less the root-reserved blocks and the reserve; its medium follows the
 *   loop device to its backing file's disk (as `lsblk` reads it), a tmpfs is `tmpfs`, and
 *   `--disk-medium` overrides it. What is not a mount point is skipped with a warning.
 * - None is detected as enforcing project quotas (ext4 mounted without `prjquota`): `loop`.
 * - A disk both named and discovered, a disk path on a discovered disk, a work dir inside one, a
 *   bind mount of part of a filesystem and an unknown `--disk-medium` name are refused.
 * - End to end: an agent started with `--disks-from` offers those disks, and a task's volume on one
 *   works: it writes within its size and gets ENOSPC past it.
 * Everything (mounts, loop devices, images) is removed in afterAll, even after a failure.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../core/exec.js';
import { resolveAgentDisks } from '../../agent/disks/agent-disks.js';
import { mountedDiskSize } from '../../agent/disks/discover-disks.js';
import { readMountinfo } from '../../agent/disks/mountinfo.js';
import { TaskState, Volume, Volume_Kind, type DiskResource } from '../../proto/gen/galaxy/v1/common.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { eventually } from '../helpers/async-queue.js';

const MiB = 1024 * 1024;
let root: string;
let disks: string;
let work: string;
const mounted: string[] = [];
const loops: string[] = [];
let kc: KernelCluster | undefined;

async function mountImage(name: string, mib: number, reservedPercent: number): Promise<void> {
  const image = join(root, 'images', `${name}.img`);
  await run('truncate', ['-s', `${mib}M`, image]);
  await run('mkfs.ext4', ['-q', '-F', '-m', String(reservedPercent), image]);
  const loop = (await run('losetup', ['--find', '--show', image])).trim();
  loops.push(loop);
  await mkdir(join(disks, name));
  await run('mount', [loop, join(disks, name)]);
  mounted.push(join(disks, name));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'galaxy-diskfind-'));
  disks = join(root, 'disks');
  work = join(root, 'work');
  await mkdir(join(root, 'images'));
  await mkdir(disks);
  await mkdir(work);
  await mountImage('ext0', 64, 0);
  await mountImage('ext1', 96, 5);
  await mkdir(join(disks, 'mem0'));
  await run('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'diskfind-mem0', join(disks, 'mem0')]);
  mounted.push(join(disks, 'mem0'));
  await mkdir(join(disks, 'unmounted'));
  await writeFile(join(disks, 'notes.txt'), 'not a disk');
}, 60_000);

afterAll(async () => {
  const left = kc ? await kc.stop() : [];
  for (const m of mounted.reverse()) await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => {}));
  for (const loop of loops) await run('losetup', ['-d', loop]).catch(() => {});
  if (root) await rm(root, { recursive: true, force: true });
  expect(left).toEqual([]);
}, 60_000);

/** What `stat -f` says of a mount: all its bytes, and those a user other than root may fill. */
async function fsBytes(path: string): Promise<{ all: number; usable: number }> {
  const [blocks = 0, free = 0, avail = 0, size = 0] = (await run('stat', ['-f', '-c', '%b %f %a %S', path]))
    .trim()
    .split(' ')
    .map(Number);
  return { all: blocks * size, usable: (blocks - (free - avail)) * size };
}

const usableBytes = async (path: string): Promise<number> => (await fsBytes(path)).usable;

/** The medium of the disk under `file`, as lsblk reads the kernel's rotational flag. */
async function mediumOfFile(file: string): Promise<string> {
  const source = (await run('findmnt', ['-no', 'SOURCE', '--target', file])).trim();
  const rota = (await run('lsblk', ['-dno', 'ROTA', source])).trim();
  return rota === '1' ? 'hdd' : 'ssd';
}

describe('disks discovered from the mounts under a directory', () => {
  it('are named after their mount points, sized by their filesystems, of their media, loop-enforced', async () => {
    const { disks: found, warnings } = await resolveAgentDisks({ disksFrom: disks }, work);
    const imagesMedium = await mediumOfFile(join(root, 'images', 'ext0.img'));
    expect(found.map((d) => [d.resource.name, d.resource.medium, d.path, d.source])).toEqual([
      ['ext0', imagesMedium, join(disks, 'ext0'), 'mount'],
      ['ext1', imagesMedium, join(disks, 'ext1'), 'mount'],
      ['mem0', 'tmpfs', join(disks, 'mem0'), 'mount'],
    ]);
    expect(found.find((d) => d.resource.name === 'mem0')?.resource.size).toBe(40 * MiB); // 48MiB less 8MiB
    for (const d of found) {
      expect(d.resource.size).toBe(mountedDiskSize(await usableBytes(d.path)));
      expect(d.resource.capacity).toBe(d.resource.size);
    }
    // ext1 keeps 5% of its 96MiB for root: its disk leaves them out.
    const ext1 = await fsBytes(join(disks, 'ext1'));
    const ext1Size = found.find((d) => d.resource.name === 'ext1')?.resource.size ?? 0;
    expect(mountedDiskSize(ext1.all) - ext1Size).toBeGreaterThanOrEqual(4 * MiB);
    expect(warnings).toEqual([
      expect.stringContaining('"notes.txt" is not a directory'),
      expect.stringContaining('"unmounted" is not a mount point'),
    ]);
    // A real ext4 loop mount without prjquota: no project quota, loop images.
    const table = await readMountinfo();
    const ext0 = table.find((m) => m.mountPoint === join(disks, 'ext0'));
    expect(ext0?.fsType).toBe('ext4');
    expect(ext0?.superOptions).not.toContain('prjquota');
    expect(found.map((d) => d.quota)).toEqual(Array(3).fill({ projectQuota: false, enforcement: 'loop' }));
  });

  it('take the medium --disk-medium names', async () => {
    const { disks: found } = await resolveAgentDisks({ disksFrom: disks, diskMedium: 'ext0:ssd,ext1:hdd' }, work);
    expect(found.map((d) => d.resource.medium)).toEqual(['ssd', 'hdd', 'tmpfs']);
  });

  it.each([
    ['a disk also named by --disks', () => ({ disks: `ext0:${work}x:ssd:1GiB` }), 'name it once'],
    [
      'a --disks path on a discovered disk',
      () => ({ disks: `d:${disks}/ext1/sub:ssd:1GiB` }),
      'on the filesystem of disk "ext1"',
    ],
    ['an unknown --disk-medium name', () => ({ diskMedium: 'ssd9:ssd' }), 'no disk "ssd9"'],
    ['--disk-medium without --disks-from', () => ({ disksFrom: undefined, diskMedium: 'ext0:ssd' }), 'not given'],
  ])('refuse %s, making nothing', async (_what, flags, message) => {
    await mkdir(`${work}x`, { recursive: true });
    await mkdir(join(disks, 'ext1', 'sub'), { recursive: true });
    const refused = resolveAgentDisks({ disksFrom: disks, ...flags() }, work);
    await expect(refused).rejects.toMatchObject({ code: 'GALAXY_E_DISK_INVALID' });
    await expect(resolveAgentDisks({ disksFrom: disks, ...flags() }, work)).rejects.toThrow(message);
    expect(await readdirNames(join(disks, 'ext0'))).toEqual(['lost+found']);
  });

  it('refuse a disk that holds the work dir, and a bind mount of part of a filesystem', async () => {
    const inside = join(disks, 'ext1', 'work');
    await mkdir(inside, { recursive: true });
    await expect(resolveAgentDisks({ disksFrom: disks }, inside)).rejects.toThrow(
      `disk "ext1" (${join(disks, 'ext1')}) holds the agent's work dir`,
    );
    const other = join(root, 'disks2');
    await mkdir(join(other, 'part'), { recursive: true });
    await run('mount', ['--bind', join(disks, 'ext1', 'sub'), join(other, 'part')]);
    mounted.push(join(other, 'part'));
    await expect(resolveAgentDisks({ disksFrom: other }, work)).rejects.toThrow('is a bind mount of /sub');
  });
});

const readdirNames = async (dir: string): Promise<string[]> => (await readdir(dir)).sort();

describe('an agent with --disks-from', { timeout: 90_000 }, () => {
  it('offers the discovered disks, and a volume on one holds to its size', async () => {
    kc = await startKernelCluster({
      name: 'diskfind',
      isolation: 'memory',
      resources: 'cpus:2;mem:1GiB;disk:1GiB;ports:[27100-27110]',
      disksFrom: disks,
      diskMedium: 'ext0:ssd',
    });
    const cluster = kc;
    const offered = await eventually(
      () => {
        for (const e of cluster.fw.events.items)
          if (e.event?.$case === 'offers') {
            const named = e.event.offers.offers[0]?.resources?.namedDisks?.disks;
            if (named) return named;
          }
        return false;
      },
      10_000,
      'an offer with disks',
    );
    const byName = new Map<string, DiskResource>(offered.map((d) => [d.name, d]));
    expect([...byName.keys()].sort()).toEqual(['ext0', 'ext1', 'mem0']);
    expect(byName.get('ext0')?.medium).toBe('ssd');
    expect(byName.get('mem0')).toMatchObject({ medium: 'tmpfs', size: 40 * MiB, capacity: 40 * MiB });
    const ext0 = byName.get('ext0') as DiskResource;
    expect(ext0.size).toBe(mountedDiskSize(await usableBytes(join(disks, 'ext0'))));

    const volume = Volume.fromPartial({
      kind: Volume_Kind.DISK,
      path: 'data',
      sizeBytes: 24 * MiB,
      diskName: 'ext0',
      diskMedium: 'ssd',
    });
    const taskId = await cluster.launch({
      // 16MiB fits; 16MiB more does not: dd must fail with ENOSPC, and the task then exits 0.
      shell:
        'dd if=/dev/zero of=data/a bs=1M count=16 status=none && ' +
        '! dd if=/dev/zero of=data/b bs=1M count=16 status=none 2>err && grep -q "No space left" err && echo written',
      volumes: [volume],
      resources: {
        cpus: 100,
        mem: 32 * MiB,
        disk: 24 * MiB,
        gpus: 0,
        ports: [],
        namedDisks: {
          disks: [{ name: 'ext0', medium: 'ssd', size: 24 * MiB, capacity: ext0.capacity, exclusive: false }],
        },
      },
    });
    const done = await cluster.until(taskId, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED], 30_000);
    const stdout = await readFile(join(await cluster.sandboxOf(taskId), 'stdout'), 'utf8').catch(() => '');
    expect({ state: TaskState[done.state], stdout }).toEqual({ state: 'TASK_FINISHED', stdout: 'written\n' });
    // The volume was an image on the discovered disk; it went with its container.
    await eventually(
      async () => (await readdirNames(join(disks, 'ext0', '.galaxy-volumes')).catch(() => [])).length === 0,
      10_000,
      'the volume removed',
    );
  });
});
