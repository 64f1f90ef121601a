/**
 * The ACL side of a ZooKeeper coordinator with a cluster secret ({@link ZkSecret}): whether a
 * chroot may be used, and giving a znode Galaxy's ACL. The npm client's `get_acl` kills its
 * process when ZooKeeper refuses it, so neither reads an ACL: they go by reading, by the ACL's
 * version (0 until an ACL is set) and by setting it.
 */
import { GalaxyError } from '../errors.js';
import { isZk, ZK, type ZkSession } from './zookeeper-session.js';
import type { ZkSecret } from './zookeeper-secret.js';

/**
 * Refuses a chroot this session may not use as it is (GALAXY_E_COORD_DENIED): with a secret, one
 * that never had its ACL set (made without the secret) or that it may not read (another secret);
 * without, one a secret protects.
 */
export async function checkChroot(
  zk: ZkSession,
  chroot: string,
  secret: ZkSecret | undefined,
  description: string,
): Promise<void> {
  const denied = (why: string): GalaxyError => new GalaxyError('GALAXY_E_COORD_DENIED', `${description} ${why}`);
  const [stat] = await zk
    .call(`get ${chroot}`, (c) => c.get(chroot, false))
    .catch((error: unknown) => {
      if (!isZk(error, ZK.NOAUTH)) throw error;
      throw denied(
        secret
          ? 'is protected by another secret: give the cluster secret'
          : 'is protected by a cluster secret: add ?secret=<file> with the cluster secret to the URL',
      );
    });
  if (secret && stat.aversion === 0)
    throw denied(
      'was made without the cluster secret (anyone may read and write it): use a fresh chroot with the secret, e.g. zk://…/galaxy2?secret=<file>',
    );
}

/**
 * Gives the znode `path` Galaxy's ACL. If its ACL changed since it was created (another Galaxy
 * session secured it, or someone got in while it was world-open) it is set again whatever it is.
 * `tampered` when Galaxy may not even re-ACL it, or when a `fresh` znode (just created) has znodes
 * under it: the caller deletes it (its parent is Galaxy's) and starts the write over. Values
 * anyone else wrote meanwhile are not sealed, so they read as none.
 */
export async function secureZnode(
  zk: ZkSession,
  secret: ZkSecret,
  path: string,
  fresh: boolean,
): Promise<'secured' | 'tampered'> {
  const setAcl = (version: number) => zk.call(`secure ${path}`, (c) => c.set_acl(path, version, secret.acl));
  try {
    await setAcl(0).catch((error: unknown) => {
      if (!isZk(error, ZK.BADVERSION)) throw error;
      return setAcl(-1);
    });
  } catch (error) {
    if (isZk(error, ZK.NOAUTH)) return 'tampered';
    throw error;
  }
  if (!fresh) return 'secured';
  const stat = await zk.call(`stat ${path}`, (c) => c.exists(path, false));
  return stat.numChildren > 0 ? 'tampered' : 'secured';
}
