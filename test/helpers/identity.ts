/**
 * Identity for tests of clusters of separate processes: daemons with a coordinator authenticate,
 * so a test makes an admin in that coordinator first (as `galaxy user add --coordinator` would)
 * and hands its token to the processes and clients it starts.
 */
import { openCoordinator } from '../../core/coordinator/index.js';
import { UserStore } from '../../core/tenancy/users.js';

/** A fresh admin token in the coordinator at `url` (user `admin`, made if absent). */
export async function bootstrapAdminToken(url: string): Promise<string> {
  const coordinator = await openCoordinator(url);
  try {
    const users = await UserStore.open(coordinator);
    try {
      if (await users.get('admin')) return await users.issueToken('admin');
      return (await users.add('admin', { admin: true })).token;
    } finally {
      users.close();
    }
  } finally {
    await coordinator.close();
  }
}
