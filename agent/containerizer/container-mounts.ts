/**
 * The agent's side of a container's volumes: the last check of bind sources against its
 * `--allowed-host-paths` (on real paths, so `..` and symlinks cannot lead elsewhere), and the
 * mount points inside the sandbox, owned by the task's root.
 */
import { chown, mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import { checkBind } from '../../core/host-paths.js';
import type { HostPath } from '../../proto/gen/galaxy/v1/common.js';
import type { ContainerMount } from '../../isolators/isolator.js';

/**
 * Checks bind sources: each must exist, and its real path must be under an allowed host path and
 * not a forbidden one (`GALAXY_E_HOST_PATH_DENIED` otherwise). Returns the mounts with real
 * sources; the helper opens those refusing any symlink, so a swap after this check fails.
 */
export async function checkMounts(
  mounts: readonly ContainerMount[],
  allowed: readonly HostPath[],
  workDir: string,
): Promise<ContainerMount[]> {
  const checked: ContainerMount[] = [];
  for (const [i, mount] of mounts.entries()) {
    if (mount.kind !== 'bind') {
      checked.push(mount);
      continue;
    }
    const where = `volume ${i} (${mount.target})`;
    let real: string;
    try {
      real = await realpath(mount.source ?? '');
    } catch {
      throw new GalaxyError(
        'GALAXY_E_HOST_PATH_DENIED',
        `${where}: host path ${mount.source ?? ''} does not exist on this agent`,
      );
    }
    // A disk volume is the agent's own mount under its work dir: it chose the source, not the task.
    if (mount.agentVolume !== true) checkBind(where, real, mount.readOnly, allowed, workDir);
    checked.push({ ...mount, source: real });
  }
  return checked;
}

/**
 * Makes the mount points of volumes inside the sandbox before the task starts (nothing of the
 * task's is in it yet), owned by the task's root so that it can use the directories around them.
 */
export async function makeMountPoints(
  sandbox: string,
  mounts: readonly ContainerMount[],
  owner: { uid: number; gid: number } | undefined,
): Promise<void> {
  for (const mount of mounts) {
    const inside = relative(sandbox, mount.target);
    if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) continue;
    let dir = sandbox;
    for (const part of inside.split('/')) {
      dir = join(dir, part);
      const made = await mkdir(dir).then(
        () => true,
        (error: unknown) => {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw error;
        },
      );
      if (made && owner) await chown(dir, owner.uid, owner.gid);
    }
  }
}
