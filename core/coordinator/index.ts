/**
 * Opens a {@link Coordinator} from its URL: `memory:` (a fresh in-process store), `local:/abs/dir`
 * (files in a directory, the default) or `zk://host:port[,host:port]/chroot` (ZooKeeper; the chroot
 * is optional and defaults to `/galaxy`; `?secret=/path/to/file` protects it with the cluster
 * secret, see `zookeeper-secret.ts`).
 */
import { isAbsolute } from 'node:path';
import { GalaxyError } from '../errors.js';
import type { Coordinator } from './coordinator.js';
import { LocalCoordinator } from './local.js';
import { MemoryCoordinator } from './memory.js';
import { ZkSecret } from './zookeeper-secret.js';

export type { Coordinator, KeyChange, Leadership, Unwatch, Versioned } from './coordinator.js';
export { checkKey, checkPrefix } from './keys.js';
export { LocalCoordinator } from './local.js';
export { MemoryCoordinator, MemoryStore } from './memory.js';
// Types only: the ZooKeeper backend (and its native client) is loaded when a zk:// URL is opened.
export type { ZooKeeperCoordinator, ZooKeeperOptions } from './zookeeper.js';
export { ZkSecret } from './zookeeper-secret.js';

/** The coordinator used when none is given. */
export const DEFAULT_COORDINATOR = 'local:/var/lib/galaxy/coord';

/** How else to open a coordinator. */
export interface OpenOptions {
  /** The ZooKeeper session timeout, instead of the URL's `session=` (ignored by other backends). */
  readonly sessionTimeoutMs?: number;
  /** On ZooKeeper, whether being cut off ends the session (`ZkSessionOptions.endsWhenCutOff`; default true). */
  readonly endsWhenCutOff?: boolean;
}

/** The ZooKeeper session timeout a `zk://` URL asks for (`session=<n>ms`), if it names one. */
export function urlSessionMs(url: string): number | undefined {
  const match = /^zk:\/\/[^?]*\?(?:.*&)?session=(\d+)ms(?:&|$)/.exec(url);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

/**
 * Opens the coordinator `url` names: `memory:`, `local:/abs/dir`, or
 * `zk://host:port[,host:port…][/chroot][?session=<n>ms][&secret=/path/to/secret-file]`. The secret
 * is given as a file so that the URL, which is logged and passed on command lines, holds none.
 */
export async function openCoordinator(url: string, options: OpenOptions = {}): Promise<Coordinator> {
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
  const zk =
    /^zk:\/\/([^/?]+)(\/[^?]*)?(?:\?(session=\d+ms|secret=\/[^&]+)(?:&(session=\d+ms|secret=\/[^&]+))?)?$/.exec(url);
  if (zk?.[1] !== undefined) {
    const params = new Map(
      [zk[3], zk[4]]
        .filter((p) => p !== undefined)
        .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
    );
    // `session=<n>ms` sets the session timeout: how long a crashed leader holds its place.
    const session = params.get('session');
    const secretFile = params.get('secret');
    const { ZooKeeperCoordinator, ZK_DEFAULT_CHROOT } = await loadZooKeeper();
    return ZooKeeperCoordinator.open(zk[1], {
      chroot: zk[2] ?? ZK_DEFAULT_CHROOT,
      ...(session === undefined ? {} : { sessionTimeoutMs: Number(session.slice(0, -2)) }),
      ...(options.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: options.sessionTimeoutMs }),
      ...(options.endsWhenCutOff === undefined ? {} : { endsWhenCutOff: options.endsWhenCutOff }),
      ...(secretFile === undefined ? {} : { secret: await ZkSecret.load(decodeURIComponent(secretFile)) }),
    });
  }
  throw new GalaxyError(
    'GALAXY_E_INVALID_ARGUMENT',
    `coordinator "${url.slice(0, 100)}" is not one of memory:, local:/abs/dir or zk://host:port[,host:port]/chroot[?session=<n>ms][&secret=/abs/file]`,
  );
}

/**
 * The ZooKeeper backend, loaded on first use: its client is a native module that only clusters
 * on ZooKeeper need (it is an optional dependency; a machine without it runs `local:`).
 */
async function loadZooKeeper(): Promise<typeof import('./zookeeper.js')> {
  try {
    return await import('./zookeeper.js');
  } catch (error) {
    throw new GalaxyError(
      'GALAXY_E_COORD_UNAVAILABLE',
      `the ZooKeeper client cannot be loaded (${(error as Error).message.split('\n')[0] ?? ''}); install it with "npm install zookeeper" (it builds a native module: needs make, g++ and python3)`,
      { cause: error },
    );
  }
}
