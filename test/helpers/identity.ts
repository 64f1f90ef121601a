/**
 * Identity for tests of clusters of separate processes: daemons authenticate, so a test makes an
 * admin in the cluster's coordinator first (as `galaxy user add --coordinator` would) and hands
 * its token to the clients it starts, and gives each agent a join token in a file (as an admin
 * would with `galaxy agent join-token`), which the agent exchanges for its own credential.
 */
import { writeFile } from 'node:fs/promises';
import { agentJoinToken } from '../../cli/local-identity.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { UserStore } from '../../core/tenancy/users.js';

/**
 * Writes a fresh join token of the coordinator at `url` to `path` (mode 0600), for
 * `galaxy agent --join-token-file <path>`; by default good for one agent for ten minutes.
 */
export async function writeJoinToken(url: string, path: string, ttlMs?: number, uses?: number): Promise<string> {
  await writeFile(path, `${await agentJoinToken(url, ttlMs, uses)}\n`, { mode: 0o600 });
  return path;
}

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
