/**
 * Identity of a `galaxy up` cluster: its users live in the embedded coordinator. Each run makes
 * sure user `admin` (admin) and user `agent` (kind agent) exist, gives `admin` a fresh token
 * written to `<work dir>/admin.token` (mode 0600, where the CLI looks by default) and the
 * in-process agent a fresh agent token. Tokens are never printed; only the file's path is.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../core/auth/client.js';
import type { Coordinator } from '../core/coordinator/coordinator.js';
import { openCoordinator } from '../core/coordinator/index.js';
import { AGENT_USER, UserStore, type NewUser } from '../core/tenancy/users.js';

/** The admin user `galaxy up` bootstraps. */
export const ADMIN_USER = 'admin';

/** What `galaxy up` authenticates with. */
export interface UpIdentity {
  readonly users: UserStore;
  /** The admin's token: the frameworks and `galaxy up`'s own calls use it. */
  readonly adminToken: string;
  /** Where the admin's token was written. */
  readonly adminTokenPath: string;
  /** The in-process agent's token. */
  readonly agentToken: string;
  close(): Promise<void>;
}

/** A fresh token for `name`, making the user first if it does not exist; replaces its other tokens. */
async function freshToken(users: UserStore, name: string, options: NewUser): Promise<string> {
  if (await users.get(name)) return users.issueToken(name, { replace: true });
  return (await users.add(name, options)).token;
}

/** Bootstraps the users of the cluster whose coordinator is `url` and state is `workDir`. */
export async function bootstrapIdentity(workDir: string, url: string): Promise<UpIdentity> {
  const coordinator: Coordinator = await openCoordinator(url);
  try {
    const users = await UserStore.open(coordinator);
    const adminToken = await freshToken(users, ADMIN_USER, { admin: true });
    const agentToken = await freshToken(users, AGENT_USER, { kind: 'agent' });
    const adminTokenPath = join(workDir, ADMIN_TOKEN_FILE);
    await writeFile(adminTokenPath, `${adminToken}\n`, { mode: 0o600 });
    await chmod(adminTokenPath, 0o600); // writeFile's mode applies only to a new file
    return {
      users,
      adminToken,
      adminTokenPath,
      agentToken,
      close: async () => {
        users.close();
        await coordinator.close();
      },
    };
  } catch (error) {
    await coordinator.close();
    throw error;
  }
}
