/**
 * Who a container's task runs as (docs/security.md, "Users and capabilities"): by default the
 * root of its own user namespace, an unprivileged host uid block of its own; with `command.user`
 * a named host user (authority `task:run-as`, checked by the master and the AppMaster), or real
 * root (`root`: admins only).
 */
import { execFileSync } from 'node:child_process';
import { resolveUser } from '../process-launcher.js';
import type { UidBlocks } from './uid-blocks.js';

/** The container's own user namespace, or a host user (uid 0: real root). */
export type Identity =
  | { readonly kind: 'userns'; readonly base: number }
  | { readonly kind: 'host'; readonly uid: number; readonly gid: number; readonly groups: readonly number[] };

/** The container user a pod's service runs as (the AppWorker stays root): `galaxy` in the generated /etc. */
export const SERVICE_USER = '1000:1000';

/** The identity of container `id` whose command names `user` ('' = its own user namespace). */
export async function identityOf(id: string, user: string, uids: UidBlocks): Promise<Identity> {
  if (user === '') return { kind: 'userns', base: await uids.claim(id) };
  if (user === 'root') return { kind: 'host', uid: 0, gid: 0, groups: [0] };
  const { uid, gid } = resolveUser(user);
  const groups = execFileSync('id', ['-G', user], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
  return { kind: 'host', uid, gid, groups };
}

/** The host uid and gid of the task's root, which owns its sandbox (none for real root). */
export function ownerOf(identity: Identity): { uid: number; gid: number } | undefined {
  if (identity.kind === 'userns') return { uid: identity.base, gid: identity.base };
  return identity.uid === 0 ? undefined : { uid: identity.uid, gid: identity.gid };
}

/** The native helper's options for `identity`. */
export function identityArgs(identity: Identity): string[] {
  if (identity.kind === 'userns') return ['--userns', String(identity.base)];
  return ['--user', String(identity.uid), String(identity.gid), identity.groups.join(',') || '-'];
}
