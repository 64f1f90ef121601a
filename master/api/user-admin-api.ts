/**
 * gRPC adapter of the UserAdmin service (`galaxy user …`): admins add and remove users and issue
 * their tokens. The answer to AddUser/IssueUserToken is the only place a token is ever sent.
 */
import { adminOnly } from '../../core/auth/caller.js';
import { GalaxyError } from '../../core/errors.js';
import type { UserStore, UserSummary } from '../../core/tenancy/users.js';
import type { UserAdminServer, UserInfo } from '../../proto/gen/galaxy/v1/users.js';

function userInfo(user: UserSummary): UserInfo {
  return { name: user.name, admin: user.admin, kind: user.kind, tokenCount: user.tokens, createdAt: user.createdAt };
}

function kindOf(kind: string): 'user' | 'agent' {
  if (kind === '' || kind === 'user') return 'user';
  // Refused by the store with the way agents authenticate now.
  if (kind === 'agent') return 'agent';
  throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `user kind must be "user", got "${kind.slice(0, 20)}"`);
}

/** Builds the UserAdmin implementation over `users`. */
export function userAdminApi(users: UserStore): UserAdminServer {
  return {
    addUser: adminOnly('add users', async (request) => {
      const { user, token } = await users.add(request.name, { admin: request.admin, kind: kindOf(request.kind) });
      return { user: userInfo(user), token };
    }),
    removeUser: adminOnly('remove users', async (request) => {
      await users.remove(request.name);
      return {};
    }),
    listUsers: adminOnly('list users', async () => ({ users: (await users.list()).map(userInfo) })),
    issueUserToken: adminOnly('issue tokens', async (request) => {
      const token = await users.issueToken(request.name, { replace: request.replaceTokens });
      const user = await users.get(request.name);
      if (!user) throw new GalaxyError('GALAXY_E_USER_UNKNOWN', `user ${request.name} was removed meanwhile`);
      return { user: userInfo(user), token };
    }),
  };
}
