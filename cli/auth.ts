/**
 * What a framework daemon (`galaxy appmaster`, `galaxy framework run`) needs to authenticate its
 * own API: the users of its coordinator, followed for changes until it stops.
 */
import type { ServerAuth } from '../core/auth/server.js';
import { openCoordinator } from '../core/coordinator/index.js';
import { UserStore } from '../core/tenancy/users.js';

/** An authenticator over the users in `url`'s coordinator, and how to let it go. */
export async function coordinatorAuth(url: string): Promise<{ auth: ServerAuth; close(): Promise<void> }> {
  const coordinator = await openCoordinator(url);
  const users = await UserStore.open(coordinator);
  return {
    auth: { authenticate: users.authenticate },
    close: async () => {
      users.close();
      await coordinator.close();
    },
  };
}
