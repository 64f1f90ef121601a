/**
 * Identity of a cluster whose state lives in a local work directory (`galaxy up`, and `galaxy
 * master` without `--coordinator`): its users and agent identities live in the coordinator
 * `local:<work dir>/coord`. User `admin` is made if absent and its token written to
 * `<work dir>/admin.token` (mode 0600, where the CLI looks by default; only the path is ever
 * printed). `galaxy up` also makes a one-use join token for its own agent.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../core/auth/client.js';
import type { Coordinator } from '../core/coordinator/coordinator.js';
import { openCoordinator } from '../core/coordinator/index.js';
import { AgentIdentityStore } from '../core/tenancy/agent-identities.js';
import { UserStore } from '../core/tenancy/users.js';

/** The admin user a local cluster bootstraps. */
export const ADMIN_USER = 'admin';

/** How long the join token `galaxy up` makes for its own agent is good for. */
const UP_JOIN_TOKEN_TTL_MS = 10 * 60_000;

/** What a local cluster authenticates with. */
export interface LocalIdentity {
  readonly users: UserStore;
  /** The admin's token: `galaxy up`'s frameworks and its own calls use it. */
  readonly adminToken: string;
  /** Where the admin's token was written. */
  readonly adminTokenPath: string;
  close(): Promise<void>;
}

/** The coordinator URL of a local cluster whose state is in `workDir`. */
export function localCoordinatorUrl(workDir: string): string {
  return `local:${resolve(workDir, 'coord')}`;
}

/** The token in `path`, if it is there and belongs to an admin of `users`. */
async function validAdminToken(users: UserStore, path: string): Promise<string | undefined> {
  const token = (await readFile(path, 'utf8').catch(() => '')).trim();
  if (token === '') return undefined;
  const principal = users.authenticate(token);
  return principal?.admin === true && principal.kind === 'user' ? token : undefined;
}

/**
 * Bootstraps the admin of the cluster whose coordinator is `url` and state is `workDir`. A fresh
 * admin token replaces the admin's others on every call, unless `keep` is set and the token file
 * already holds a valid one (a restarted `galaxy master` keeps its admin's token).
 */
export async function bootstrapIdentity(
  workDir: string,
  url: string,
  options: { readonly keep?: boolean } = {},
): Promise<LocalIdentity> {
  const coordinator: Coordinator = await openCoordinator(url);
  try {
    const users = await UserStore.open(coordinator);
    const adminTokenPath = join(workDir, ADMIN_TOKEN_FILE);
    let adminToken = options.keep ? await validAdminToken(users, adminTokenPath) : undefined;
    if (adminToken === undefined) {
      adminToken = (await users.get(ADMIN_USER))
        ? await users.issueToken(ADMIN_USER, { replace: true })
        : (await users.add(ADMIN_USER, { admin: true })).token;
      await writeFile(adminTokenPath, `${adminToken}\n`, { mode: 0o600 });
    }
    await chmod(adminTokenPath, 0o600); // writeFile's mode applies only to a new file
    return {
      users,
      adminToken,
      adminTokenPath,
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

/**
 * A join token in the coordinator at `url`: by default good for one agent for ten minutes (what
 * `galaxy up` gives its agent, which ignores it once it holds a credential).
 */
export async function agentJoinToken(url: string, ttlMs = UP_JOIN_TOKEN_TTL_MS, uses = 1): Promise<string> {
  const coordinator = await openCoordinator(url);
  try {
    const identities = await AgentIdentityStore.open(coordinator);
    try {
      return (await identities.createJoinToken(ttlMs, uses)).token;
    } finally {
      identities.close();
    }
  } finally {
    await coordinator.close();
  }
}
