/**
 * Identity for tests of clusters of separate processes: daemons authenticate, so a test makes an
 * admin in the cluster's coordinator first (as `galaxy user add --coordinator` would) and hands
 * its token to the clients it starts, and gives each agent a join token in a file (as an admin
 * would with `galaxy agent join-token`), which the agent exchanges for its own credential.
 */
import { writeFile } from 'node:fs/promises';
import { clientOptions } from '../../core/auth/client.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { callUnary } from '../../core/grpc-errors.js';
import { UserStore } from '../../core/tenancy/users.js';
import { channelCredentials, type TlsFiles } from '../../core/tls.js';
import { AgentIdentityAdminClient, type JoinTokenResponse } from '../../proto/gen/galaxy/v1/agent_identity.js';

/**
 * A join token made through the master at `address` with an admin's token, as `galaxy agent
 * join-token` makes one (the master knows it at once; one written to a local coordinator by
 * another process reaches it within a poll); by default good for one agent for ten minutes.
 */
export async function masterJoinToken(
  master: { readonly address: string; readonly adminToken: string; readonly tls?: TlsFiles },
  ttlMs = 10 * 60_000,
  uses = 1,
): Promise<string> {
  const client = new AgentIdentityAdminClient(
    master.address,
    channelCredentials(master.tls),
    clientOptions(master.adminToken),
  );
  try {
    const made = await callUnary<JoinTokenResponse>(`the master at ${master.address}`, (cb) =>
      client.createJoinToken({ ttlS: ttlMs / 1000, uses }, cb),
    );
    return made.token;
  } finally {
    client.close();
  }
}

/** Writes `token` to `path` (mode 0600), for `galaxy agent --join-token-file <path>`; returns the path. */
export async function writeJoinToken(path: string, token: string): Promise<string> {
  await writeFile(path, `${token}\n`, { mode: 0o600 });
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
