/**
 * The `volumes` isolator: mounts a task's volumes into its sandbox before it starts — tmpfs of a
 * given size (charged to the container's memory), or a bind mount of a host path, optionally
 * read-only — and unmounts them after. List it after `disk`, whose image becomes the sandbox.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../core/exec.js';
import { Volume_Kind, type Volume } from '../../proto/gen/galaxy/v1/common.js';
import { ISOLATOR_API_VERSION, type Container, type Isolator, type IsolatorPlugin } from '../isolator.js';

/** Where a volume appears on the host. */
function targetOf(c: Container, volume: Volume): string {
  return join(c.sandbox, volume.path);
}

/** Mount points under `dir`, deepest first (the order to unmount them in). */
async function mountsUnder(dir: string): Promise<string[]> {
  const points = (await readFile('/proc/mounts', 'utf8')).split('\n').map((line) => line.split(' ')[1] ?? '');
  return points.filter((p) => p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
}

async function unmountAll(dir: string): Promise<void> {
  for (const point of await mountsUnder(dir)) await run('umount', [point]).catch(() => run('umount', ['-l', point]));
}

function volumesIsolator(workDir: string): Isolator {
  return {
    name: 'volumes',
    controllers: [],
    async prepare(c: Container) {
      try {
        for (const volume of c.volumes) {
          const target = targetOf(c, volume);
          await mkdir(target, { recursive: true });
          const flags = ['nosuid', 'nodev', ...(volume.readOnly ? ['ro'] : [])].join(',');
          if (volume.kind === Volume_Kind.TMPFS) {
            await run('mount', ['-t', 'tmpfs', '-o', `size=${volume.sizeBytes},mode=0755,${flags}`, 'tmpfs', target]);
          } else {
            await run('mount', ['--bind', volume.hostPath, target]);
            // A bind mount takes its flags only on a remount.
            await run('mount', ['-o', `remount,bind,${flags}`, target]);
          }
        }
      } catch (error) {
        await unmountAll(c.sandbox);
        throw error;
      }
    },
    async cleanup(c: Container) {
      if (c.volumes.length > 0) await unmountAll(c.sandbox);
    },
    async recover(containers: readonly Container[]) {
      // Volumes of sandboxes nobody re-attached to are leftovers (their disk images are the disk isolator's).
      const live = containers.map((c) => `${c.sandbox}/`);
      for (const point of await mountsUnder(join(workDir, 'sandboxes'))) {
        const inLive = live.some((prefix) => point.startsWith(prefix));
        const isImage = (await readFile('/proc/mounts', 'utf8')).includes(`${point} ext4`);
        if (!inLive && !isImage) await run('umount', ['-l', point]).catch(() => undefined);
      }
    },
  };
}

/** The plugin. */
export const plugin: IsolatorPlugin = {
  name: 'volumes',
  version: ISOLATOR_API_VERSION,
  galaxyApi: '^1',
  create: (options) => volumesIsolator(options.workDir),
};
export default plugin;
