/**
 * `galaxy user add|remove|list|token`: users and their bearer tokens (admin only). Against the
 * master's UserAdmin service by default; with `--coordinator`, directly on the coordinator (how
 * the first admin of a cluster of separate processes is made). A new token is printed once, on
 * stdout, and nowhere else.
 */
import type { Command } from 'commander';
import { openCoordinator } from '../core/coordinator/index.js';
import { LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import { UserStore, type UserSummary } from '../core/tenancy/users.js';
import { UserAdminService, type UserInfo } from '../proto/gen/galaxy/v1/users.js';
import { parseOutputFormat, render, type Column } from './output.js';
import { cliClient } from './operator-client.js';

/** What the user verbs need, from the master or from the coordinator itself. */
interface UserAdmin {
  add(name: string, admin: boolean, kind: 'user' | 'agent'): Promise<{ user: UserInfo; token: string }>;
  remove(name: string): Promise<void>;
  list(): Promise<UserInfo[]>;
  issue(name: string, replace: boolean): Promise<{ user: UserInfo; token: string }>;
  close(): Promise<void>;
}

const USER_COLUMNS: Column<UserInfo>[] = [
  { heading: 'NAME', value: (u) => u.name },
  { heading: 'KIND', value: (u) => u.kind },
  { heading: 'ADMIN', value: (u) => (u.admin ? 'yes' : 'no') },
  { heading: 'TOKENS', value: (u) => u.tokenCount },
  { heading: 'CREATED', value: (u) => new Date(u.createdAt).toISOString() },
];

function info(user: UserSummary): UserInfo {
  return { name: user.name, admin: user.admin, kind: user.kind, tokenCount: user.tokens, createdAt: user.createdAt };
}

async function masterAdmin(master: string): Promise<UserAdmin> {
  const address = await new LeaderLocator(master, MASTER_GROUP).locate();
  const client = cliClient(UserAdminService, address, 'the master');
  const withToken = async (pending: Promise<{ user?: UserInfo; token: string }>) => {
    const { user, token } = await pending;
    if (!user) throw new Error('the master answered without the user');
    return { user, token };
  };
  return {
    add: (name, admin, kind) => withToken(client.addUser({ name, admin, kind })),
    remove: async (name) => {
      await client.removeUser({ name });
    },
    list: async () => (await client.listUsers({})).users,
    issue: (name, replace) => withToken(client.issueUserToken({ name, replaceTokens: replace })),
    close: () => {
      client.close();
      return Promise.resolve();
    },
  };
}

async function coordinatorAdmin(url: string): Promise<UserAdmin> {
  const coordinator = await openCoordinator(url);
  const users = await UserStore.open(coordinator);
  const found = async (name: string) => {
    const user = await users.get(name);
    if (!user) throw new Error(`user ${name} vanished`);
    return info(user);
  };
  return {
    add: async (name, admin, kind) => {
      const { user, token } = await users.add(name, { admin, kind });
      return { user: info(user), token };
    },
    remove: (name) => users.remove(name),
    list: async () => (await users.list()).map(info),
    issue: async (name, replace) => {
      const token = await users.issueToken(name, { replace });
      return { user: await found(name), token };
    },
    close: async () => {
      users.close();
      await coordinator.close();
    },
  };
}

interface Where {
  master: string;
  coordinator?: string;
}

async function withAdmin<T>(where: Where, fn: (admin: UserAdmin) => Promise<T>): Promise<T> {
  const admin = where.coordinator ? await coordinatorAdmin(where.coordinator) : await masterAdmin(where.master);
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}

/** Adds `galaxy user …`. */
export function addUserCommands(program: Command, defaultMaster: string): void {
  const user = program.command('user').description('users and their bearer tokens (admin only)');
  const common = (command: Command): Command =>
    command
      .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leader', defaultMaster)
      .option(
        '--coordinator <url>',
        "work on the coordinator's user records directly (bootstrap), not through the master",
      );
  common(user.command('add'))
    .description('add a user; prints its first token once, on stdout')
    .argument('<name>')
    .option('--admin', 'the user manages users, pools, quotas and machines and holds every authority')
    .action(async (name: string, flags: Where & { admin?: boolean }) => {
      const { token } = await withAdmin(flags, (a) => a.add(name, flags.admin === true, 'user'));
      console.log(token);
    });
  common(user.command('remove'))
    .description('remove a user and every token of it')
    .argument('<name>')
    .action(async (name: string, flags: Where) => {
      await withAdmin(flags, (a) => a.remove(name));
      console.log(`user ${name} removed`);
    });
  common(user.command('list'))
    .description('users, their kind, admin flag and number of tokens')
    .option('-o, --output <format>', 'table, wide, json or yaml', 'table')
    .action(async (flags: Where & { output: string }) => {
      const format = parseOutputFormat(flags.output);
      console.log(render(await withAdmin(flags, (a) => a.list()), USER_COLUMNS, format));
    });
  common(user.command('token'))
    .description("a new token for a user (printed once, on stdout); --replace revokes the user's other tokens")
    .argument('<name>')
    .option('--replace', "revoke the user's other tokens")
    .action(async (name: string, flags: Where & { replace?: boolean }) => {
      const { token } = await withAdmin(flags, (a) => a.issue(name, flags.replace === true));
      console.log(token);
    });
}
