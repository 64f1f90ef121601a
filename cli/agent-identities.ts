/**
 * `galaxy agent join-token|credential|credentials`: agents' own identities (admin only; see
 * docs/security.md). Against the master's AgentIdentityAdmin service by default; with
 * `--coordinator`, directly on the coordinator (bootstrap, as `galaxy user --coordinator`). A join
 * token or credential is printed once, on stdout, and nowhere else.
 */
import type { Command } from 'commander';
import { openCoordinator } from '../core/coordinator/index.js';
import { LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import { AgentIdentityStore } from '../core/tenancy/agent-identities.js';
import {
  AgentIdentityAdminService,
  type AgentCredentialInfo,
  type JoinTokenInfo,
  type ListAgentIdentitiesResponse,
} from '../proto/gen/galaxy/v1/agent_identity.js';
import { parseDuration } from './machines.js';
import { parseOutputFormat, render, serialize, type Column } from './output.js';
import { cliClient } from './operator-client.js';

/** What the verbs need, from the master or from the coordinator itself. */
interface IdentityAdmin {
  joinToken(ttlS: number, uses: number): Promise<{ info: JoinTokenInfo; token: string }>;
  revokeJoinToken(id: string): Promise<void>;
  credential(agentId: string): Promise<string>;
  revokeCredential(agentId: string): Promise<void>;
  list(): Promise<ListAgentIdentitiesResponse>;
  close(): Promise<void>;
}

async function masterAdmin(master: string): Promise<IdentityAdmin> {
  const address = await new LeaderLocator(master, MASTER_GROUP).locate();
  const client = cliClient(AgentIdentityAdminService, address, 'the master');
  return {
    joinToken: async (ttlS, uses) => {
      const { info, token } = await client.createJoinToken({ ttlS, uses });
      if (!info) throw new Error('the master answered without the join token');
      return { info, token };
    },
    revokeJoinToken: async (id) => {
      await client.revokeJoinToken({ id });
    },
    credential: async (agentId) => (await client.issueAgentCredential({ agentId })).credential,
    revokeCredential: async (agentId) => {
      await client.revokeAgentCredential({ agentId });
    },
    list: () => client.listAgentIdentities({}),
    close: () => {
      client.close();
      return Promise.resolve();
    },
  };
}

async function coordinatorAdmin(url: string): Promise<IdentityAdmin> {
  const coordinator = await openCoordinator(url);
  const store = await AgentIdentityStore.open(coordinator);
  return {
    joinToken: (ttlS, uses) => store.createJoinToken(ttlS * 1000, uses),
    revokeJoinToken: (id) => store.revokeJoinToken(id),
    credential: (agentId) => store.issueCredential(agentId),
    revokeCredential: (agentId) => store.revokeCredential(agentId),
    list: () => store.list(),
    close: async () => {
      store.close();
      await coordinator.close();
    },
  };
}

interface Where {
  master?: string;
  coordinator?: string;
}

const JOIN_TOKEN_COLUMNS: Column<JoinTokenInfo>[] = [
  { heading: 'JOIN TOKEN', value: (t) => t.id },
  { heading: 'USED', value: (t) => `${String(t.used)}/${String(t.uses)}` },
  { heading: 'EXPIRES', value: (t) => new Date(t.expiresAt).toISOString() },
];

const CREDENTIAL_COLUMNS: Column<AgentCredentialInfo>[] = [
  { heading: 'AGENT', value: (c) => c.agentId },
  { heading: 'CREDENTIAL SINCE', value: (c) => new Date(c.createdAt).toISOString() },
];

/** Adds `agent join-token`, `agent credential` and `agent credentials` (after the daemon commands define `agent`). */
export function addAgentIdentityCommands(program: Command, defaultMaster: string): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent');
  const withAdmin = async <T>(where: Where, fn: (admin: IdentityAdmin) => Promise<T>): Promise<T> => {
    // `agent` itself (the daemon) takes --master too and may have parsed it.
    const master = where.master ?? agent.opts<{ master?: string }>().master ?? defaultMaster;
    const admin = where.coordinator ? await coordinatorAdmin(where.coordinator) : await masterAdmin(master);
    try {
      return await fn(admin);
    } finally {
      await admin.close();
    }
  };
  const common = (command: Command): Command =>
    command
      .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leader')
      .option('--coordinator <url>', 'work on the coordinator directly (bootstrap), not through the master');
  common(agent.command('join-token'))
    .description(
      'make a join token (printed once, on stdout): an agent registering with it for the first time gets its id and own credential',
    )
    .option('--ttl <duration>', 'how long it admits agents, e.g. 10m, 1h, 2d (at most 7d)', '1h')
    .option('--uses <n>', 'how many agents it admits', '1')
    .option('--revoke <id>', 'revoke the join token with this id instead')
    .action(async (flags: Where & { ttl: string; uses: string; revoke?: string }) => {
      if (flags.revoke !== undefined) {
        const id = flags.revoke;
        await withAdmin(flags, (a) => a.revokeJoinToken(id));
        console.log(`join token ${id} revoked`);
        return;
      }
      const ttlS = parseDuration(flags.ttl, '--ttl');
      const uses = /^\d+$/.test(flags.uses) ? Number(flags.uses) : Number.NaN;
      const { info, token } = await withAdmin(flags, (a) => a.joinToken(ttlS, uses));
      console.log(token);
      console.error(
        `join token ${info.id} admits ${String(info.uses)} agent(s) until ${new Date(info.expiresAt).toISOString()}`,
      );
    });
  common(agent.command('credential'))
    .description(
      "issue agent <id> its own credential (printed once, on stdout; it replaces the agent's earlier one), or --revoke it",
    )
    .argument('<id>')
    .option('--revoke', "remove the agent's credential: its connection ends and the next one is refused")
    .action(async (id: string, flags: Where & { revoke?: boolean }) => {
      if (flags.revoke) {
        await withAdmin(flags, (a) => a.revokeCredential(id));
        console.log(`credential of agent ${id} revoked`);
        return;
      }
      console.log(await withAdmin(flags, (a) => a.credential(id)));
      console.error(`put it in <work-dir>/meta/credential (mode 0600) of agent ${id} and start the agent`);
    });
  common(agent.command('credentials'))
    .description('agents that hold a credential, and unexpired join tokens')
    .option('-o, --output <format>', 'table, wide, json or yaml', 'table')
    .action(async (flags: Where & { output: string }) => {
      const format = parseOutputFormat(flags.output);
      const listed = await withAdmin(flags, (a) => a.list());
      if (format === 'json' || format === 'yaml') {
        console.log(serialize(listed, format));
        return;
      }
      console.log(render(listed.credentials, CREDENTIAL_COLUMNS, format));
      console.log(render(listed.joinTokens, JOIN_TOKEN_COLUMNS, format));
    });
}
