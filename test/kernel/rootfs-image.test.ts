/**
 * Root filesystem images on the real kernel: a container of an image sees the image's files (its
 * /etc/os-release, not the host's), writes to its own overlay only, owns the image's root as its
 * own root (an idmapped lower layer, with the container in its user namespace), and the agent
 * fetches an image once for all its containers. A bad sha256 is refused with nothing cached.
 * Afterwards nothing is left: no overlay directory, no mount, no cgroup, no process.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { startKernelCluster, type KernelCluster } from '../helpers/kernel-cluster.js';
import { buildTestImage, TEST_OS_ID, type TestImage } from '../helpers/rootfs-image.js';

let cluster: KernelCluster;
let image: TestImage;

beforeAll(async () => {
  cluster = await startKernelCluster({ name: 'rootfs', resources: 'cpus:2;mem:1GiB', isolation: 'cpu,memory,pids' });
  // In the agent's allowed host paths: a file:// image is a host path like a bind volume's.
  image = await buildTestImage(join(cluster.shared, 'test-os.tar.gz'));
}, 60_000);

afterAll(async () => {
  const workDir = cluster.workDir;
  expect(await cluster.stop()).toEqual([]);
  expect(readFileSync('/proc/mounts', 'utf8')).not.toContain(workDir);
});

/** Runs `shell` in a container of `img` to its end; returns its final status and stdout. */
async function run(shell: string, img: { source: string; sha256: string } = image) {
  const id = await cluster.launch({ shell, container: { capabilities: [], rootfs: img } });
  const status = await cluster.until(id, [TaskState.TASK_FINISHED, TaskState.TASK_FAILED, TaskState.TASK_ERROR]);
  const stdout = await readFile(join(await cluster.sandboxOf(id), 'stdout'), 'utf8').catch(() => '');
  return { id, status, stdout };
}

const imagesDir = () => join(cluster.workDir, 'images');
const overlaysDir = () => join(cluster.workDir, 'runtime', 'overlays');

describe('root filesystem images', () => {
  it("runs the task on the image's files, as the image's root, with the host's system hidden", async () => {
    const { status, stdout } = await run('cat /etc/os-release; id -u; ls /usr/bin; stat -c "%u" /etc');
    expect(status.state).toBe(TaskState.TASK_FINISHED);
    expect(stdout).toContain(`ID=${TEST_OS_ID}`);
    expect(stdout).not.toContain('debian');
    const lines = stdout.trim().split('\n');
    expect(lines).toContain('0'); // id -u: the container's root (an unprivileged host uid)
    // The image has no /usr: only the host's Node is bound there (for the AppWorker), nothing else of the host's.
    expect(lines.slice(4, -1)).toEqual(['node']);
    expect(lines.at(-1)).toBe('0'); // the image's /etc is owned by the container's root (idmapped)
    // The cache holds the image once, by its hash; the container's layers went with it.
    expect(await readdir(imagesDir())).toEqual([image.sha256]);
    expect(await readdir(overlaysDir()).catch(() => [])).toEqual([]);
  });

  it("keeps one container's writes out of another's root and out of the shared image", async () => {
    const writer = await run('echo mine > /etc/written && cat /etc/written && touch /new-at-root && echo ok');
    expect(writer.status.state).toBe(TaskState.TASK_FINISHED);
    expect(writer.stdout).toBe('mine\nok\n');
    const reader = await run('ls /etc/written /new-at-root 2>&1; cat /etc/os-release');
    expect(reader.status.state).toBe(TaskState.TASK_FINISHED);
    expect(reader.stdout).toMatch(/\/etc\/written.*No such file/);
    expect(reader.stdout).toMatch(/\/new-at-root.*No such file/);
    const lower = join(imagesDir(), image.sha256, 'rootfs');
    await expect(stat(join(lower, 'etc', 'written'))).rejects.toThrow(/ENOENT/);
    await expect(stat(join(lower, 'new-at-root'))).rejects.toThrow(/ENOENT/);
  });

  it('serves later containers from the cache: the image is not fetched again', async () => {
    const copy = await buildTestImage(join(cluster.shared, 'again.tar.gz'), { 'etc/marker': 'again\n' });
    expect((await run('cat /etc/marker', copy)).stdout).toBe('again\n');
    // The tarball is gone: only the cache can serve the next container.
    await rm(copy.path);
    const second = await run('cat /etc/marker', copy);
    expect(second.status.state).toBe(TaskState.TASK_FINISHED);
    expect(second.stdout).toBe('again\n');
    expect((await readdir(imagesDir())).sort()).toEqual([image.sha256, copy.sha256].sort());
  });

  it('refuses an image whose sha256 does not match, with nothing cached and nothing left', async () => {
    const wrong = { source: image.source.replace('test-os', 'bad-sha'), sha256: 'ab'.repeat(32) };
    await buildTestImage(join(cluster.shared, 'bad-sha.tar.gz'));
    const before = (await readdir(imagesDir())).sort();
    const { status } = await run('echo never', wrong);
    expect(status.state).toBe(TaskState.TASK_FAILED);
    expect(status.message).toContain('GALAXY_E_IMAGE');
    expect(status.message).toContain('failed its checksum');
    expect((await readdir(imagesDir())).sort()).toEqual(before); // no entry, no staging left
    expect(await readdir(overlaysDir()).catch(() => [])).toEqual([]);
  });

  it('refuses a file:// image outside the allowed host paths (the agent reads no other host file)', async () => {
    // Even with the hash of an image already cached: the URL is checked first.
    const { status } = await run('echo never', { source: 'file:///etc/passwd', sha256: image.sha256 });
    expect(status.state).toBe(TaskState.TASK_ERROR);
    expect(status.message).toContain('GALAXY_E_HOST_PATH_DENIED');
  });
});
