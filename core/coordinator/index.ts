/**
 * Opens a {@link Coordinator} from its URL: `memory:` (a fresh in-process store), `local:/abs/dir`
 * (files in a directory, the default) or `zk://host:port[,host:port]/chroot` (ZooKeeper; the chroot
 * is optional and defaults to `/galaxy`).
 */
import { isAbsolute } from 'node:path';
import { GalaxyError } from '../errors.js';
import type { Coordinator } from './coordinator.js';
import { LocalCoordinator } from './local.js';
import { MemoryCoordinator } from './memory.js';
import { ZK_DEFAULT_CHROOT, ZooKeeperCoordinator } from './zookeeper.js';

export type { Coordinator, KeyChange, Leadership, Unwatch, Versioned } from './coordinator.js';
export { checkKey, checkPrefix } from './keys.js';
export { LocalCoordinator } from './local.js';
export { MemoryCoordinator, MemoryStore } from './memory.js';
export { ZooKeeperCoordinator, type ZooKeeperOptions } from './zookeeper.js';

/** The coordinator used when none is given. */
export const DEFAULT_COORDINATOR = 'local:/var/lib/galaxy/coord';

/**
 * Opens the coordinator `url` names: `memory:`, `local:/abs/dir`, or
 * `zk://host:port[,host:port…][/chroot][?session=<n>ms]`.
 */
export async function openCoordinator(url: string): Promise<Coordinator> {
  if (url === 'memory:') return new MemoryCoordinator();
  if (url.startsWith('local:')) {
    const dir = url.slice('local:'.length);
    if (!isAbsolute(dir)) {
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `coordinator "${url}" needs an absolute directory, e.g. local:/var/lib/galaxy/coord`,
      );
    }
    return LocalCoordinator.open(dir);
  }
  const zk = /^zk:\/\/([^/?]+)(\/[^?]*)?(?:\?session=(\d+)ms)?$/.exec(url);
  if (zk?.[1] !== undefined) {
    // `?session=<n>ms` sets the session timeout: how long a crashed leader holds its place.
    const sessionTimeoutMs = zk[3] === undefined ? undefined : Number(zk[3]);
    return ZooKeeperCoordinator.open(zk[1], {
      chroot: zk[2] ?? ZK_DEFAULT_CHROOT,
      ...(sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs }),
    });
  }
  throw new GalaxyError(
    'GALAXY_E_INVALID_ARGUMENT',
    `coordinator "${url.slice(0, 100)}" is not one of memory:, local:/abs/dir or zk://host:port[,host:port]/chroot`,
  );
}
