/**
 * The `disk` isolator: a hard disk quota. The sandbox becomes the mount point of an ext4
 * filesystem image of exactly the requested size, loop-mounted, so a task cannot write past its
 * quota (it gets ENOSPC). Tasks that request no disk are left alone.
 *
 * `disk-du` is the fallback for machines without loop devices: it measures the sandbox with
 * `du` and kills the task with reason `disk-limit` once it is over.
 */
import { copyFile, lstat, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../core/exec.js';
import { isLogFileName } from '../../core/task-logs.js';
import { formatBytes, sandboxDisk } from '../../core/resources.js';
import { imageMountsUnder, mountNewImage, unmountImage } from './loop-image.js';
import {
  sharedIsolator,
  builtinIsolator,
  type Container,
  type ContainerUsage,
  type Isolator,
  type Limitation,
} from '../isolator.js';

/** The task's output files in a sandbox (rotated ones included): kept after the container ends. */
async function logFiles(sandbox: string): Promise<string[]> {
  return (await readdir(sandbox).catch(() => [])).filter(isLogFileName);
}

function imagePath(c: Container): string {
  return `${c.sandbox}.img`;
}

/** Bytes used under `dir`, from `du` (what counts against a quota). */
export async function duBytes(dir: string): Promise<number> {
  const out = await run('du', ['-s', '-B1', dir], 'GALAXY_E_INTERNAL');
  return Number(out.split(/\s/)[0] ?? 0);
}

/** The hard-quota isolator for an agent whose sandboxes live under `workDir`. */
function imageIsolator(workDir: string): Isolator {
  return {
    ...image,
    async recover(containers: readonly Container[]) {
      const live = new Map(containers.map((c) => [c.sandbox, c]));
      for (const mount of await imageMountsUnder(join(workDir, 'sandboxes'))) {
        const owner = live.get(mount);
        if (owner) {
          owner.state.set('disk.mounted', true);
        } else {
          await run('umount', ['-l', mount]).catch(() => undefined);
          await rm(`${mount}.img`, { force: true });
        }
      }
    },
  };
}

const image: Isolator = {
  name: 'disk',
  controllers: [],
  async prepare(c: Container) {
    // Named-disk volumes are on their own disks (agent/disks/disk-volumes.ts), not in the sandbox.
    if (sandboxDisk(c.resources) <= 0) return;
    await mountNewImage(imagePath(c), sandboxDisk(c.resources), c.sandbox);
    c.state.set('disk.mounted', true);
  },
  async usage(c: Container): Promise<ContainerUsage> {
    return { diskBytes: await duBytes(c.sandbox) };
  },
  async cleanup(c: Container) {
    if (c.state.get('disk.mounted') === true) {
      // The task's output outlives its quota: carry stdout and stderr out of the image.
      const kept = await mkdtemp(`${c.sandbox}.logs-`);
      const logs = await logFiles(c.sandbox);
      for (const file of logs) {
        // Only the task's own files: a link it left there (to /etc/shadow, say) is not followed by
        // the agent, which runs as root. Nothing of the container runs any more to swap it.
        const info = await lstat(join(c.sandbox, file)).catch(() => undefined);
        if (info?.isFile()) await copyFile(join(c.sandbox, file), join(kept, file)).catch(() => undefined);
      }
      // The container's processes are gone; a busy mount means a leak elsewhere, so detach lazily.
      await unmountImage(c.sandbox);
      c.state.delete('disk.mounted');
      for (const file of logs) await rename(join(kept, file), join(c.sandbox, file)).catch(() => undefined);
      await rm(kept, { recursive: true, force: true });
    }
    await rm(imagePath(c), { force: true });
  },
};

const du: Isolator = {
  name: 'disk-du',
  controllers: [],
  polls: true,
  async limitation(c: Container): Promise<Limitation | undefined> {
    const quota = sandboxDisk(c.resources);
    if (quota <= 0) return undefined;
    const used = await duBytes(c.sandbox);
    if (used <= quota) return undefined;
    return {
      reason: 'disk-limit',
      message: `the sandbox holds ${formatBytes(used)}, over its disk quota of ${formatBytes(quota)}`,
    };
  },
  async usage(c: Container): Promise<ContainerUsage> {
    return { diskBytes: await duBytes(c.sandbox) };
  },
};

/** Size of the image behind a container's sandbox (for tests and operators). */
export async function imageSize(sandbox: string): Promise<number> {
  return (await stat(`${sandbox}.img`)).size;
}

/** The hard-quota plugin. */
export const plugin = builtinIsolator('disk', (options) => imageIsolator(options.workDir));
/** The `du`-watch plugin. */
export const duPlugin = sharedIsolator(du);
export default plugin;
