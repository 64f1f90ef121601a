/**
 * Hands a disk volume (docs/disks.md) to the container that mounts it: its files belong to the
 * container's user namespace, whose host ids differ from one container to the next. A volume kept
 * from an earlier container (persistent) has its ids moved from that container's block to this
 * one's, so that the data is the new container's own; a new volume's root becomes its root's.
 */
import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { USERNS_SIZE } from './uid-blocks.js';

/** The id `id` of a block starting at `from` maps to in the block starting at `to`; others stay. */
export function shiftId(id: number, from: number, to: number): number {
  return id >= from && id < from + USERNS_SIZE ? id - from + to : id;
}

/**
 * Gives the volume at `root` to a container whose root is host uid/gid `owner`. Files of the
 * block the volume's root is in move to the owner's block; a root owned by host root (a new
 * volume) is simply handed over. Links are not followed.
 */
export async function giveVolume(root: string, owner: { uid: number; gid: number }): Promise<void> {
  const top = await lstat(root);
  if (top.uid === owner.uid && top.gid === owner.gid) return;
  if (top.uid === 0) {
    await lchown(root, owner.uid, owner.gid);
    return;
  }
  const fromUid = top.uid;
  const fromGid = top.gid;
  const walk = async (path: string): Promise<void> => {
    const info = await lstat(path);
    await lchown(path, shiftId(info.uid, fromUid, owner.uid), shiftId(info.gid, fromGid, owner.gid));
    if (info.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  await walk(root);
}
