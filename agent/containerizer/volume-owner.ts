/**
 * Hands a disk volume (docs/disks.md) to the container that mounts it. In the container's own
 * user namespace the volume's root belongs to the service user (`galaxy`, 1000, which a pod's
 * service runs as; the container's root may write there too), whose host id differs from one
 * container to the next: a volume kept from an earlier container (persistent) has every id of
 * that container's block moved to this one's, so that the data is the new container's own. A
 * new volume's root (host root's, from mkfs) is simply given over. A host user's container gets
 * a new volume's root as its own.
 */
import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SERVICE_USER, type Identity } from './identity.js';
import { USERNS_SIZE } from './uid-blocks.js';

/** The service user's id inside a container's user namespace (uid and gid alike). */
const SERVICE_ID = Number(SERVICE_USER.split(':')[0]);

/** The id `id` of a block starting at `from` maps to in the block starting at `to`; others stay. */
export function shiftId(id: number, from: number, to: number): number {
  return id >= from && id < from + USERNS_SIZE ? id - from + to : id;
}

/** Gives the volume mounted at `root` to a container of `identity`. Links are never followed. */
export async function giveVolume(root: string, identity: Identity): Promise<void> {
  const top = await lstat(root);
  if (identity.kind === 'host') {
    if (identity.uid !== 0 && top.uid === 0) await lchown(root, identity.uid, identity.gid);
    return;
  }
  const owner = identity.base + SERVICE_ID;
  if (top.uid === owner) return;
  if (top.uid === 0) {
    await lchown(root, owner, owner);
    return;
  }
  // Kept from a container whose block started SERVICE_ID below the root's owner.
  const from = top.uid - SERVICE_ID;
  const fromGid = top.gid - SERVICE_ID;
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    await lchown(path, shiftId(info.uid, from, identity.base), shiftId(info.gid, fromGid, identity.base));
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root);
}
