/**
 * `galaxy agent shutdown`: the explicit way to kill every task of an agent and stop it (a stop
 * signal leaves its containers running for the next agent to re-attach). Through the master, as an
 * admin naming the agent, or — with `--work-dir` on the agent's machine — with the agent's own
 * credential kept there, for whoever may read it (root). See docs/security.md, "Agent shutdown".
 */
import type { Command } from 'commander';
import { Checkpointer } from '../agent/checkpoint.js';
import { CREDENTIAL_FILE, readCredential } from '../agent/credential.js';
import { GalaxyError } from '../core/errors.js';
import { LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import { join } from 'node:path';
import { clientOptions } from '../core/auth/client.js';
import { callUnary } from '../core/grpc-errors.js';
import { channelCredentials } from '../core/tls.js';
import { AgentGatewayClient, type ShutdownAgentResponse } from '../proto/gen/galaxy/v1/agent.js';
import { cliTls } from './tls.js';
import { cliToken } from './token.js';

/** Who asks, and for which agent: the CLI's token and a named id, or the agent's own identity from its work dir. */
export async function shutdownIdentity(
  id: string | undefined,
  workDir: string | undefined,
): Promise<{ agentId: string; token: string | undefined }> {
  if (workDir === undefined) {
    if (id === undefined)
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        'name the agent (galaxy agent shutdown <id>, as an admin) or its --work-dir (with its own credential)',
      );
    return { agentId: id, token: cliToken() };
  }
  const credential = await readCredential(workDir);
  const own = await new Checkpointer(workDir, () => undefined).agentId();
  if (credential === undefined || own === '')
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `no agent identity in ${workDir} (${join(workDir, CREDENTIAL_FILE)} and meta/agent-id): name the agent and call as an admin instead`,
    );
  if (id !== undefined && id !== own)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${workDir} belongs to agent ${own}, not ${id}`);
  return { agentId: own, token: credential };
}

/** Adds `agent shutdown` (after the daemon commands define `agent`). */
export function addAgentShutdownCommand(program: Command, defaultMaster: string): void {
  const agent = program.commands.find((c) => c.name() === 'agent') ?? program.command('agent');
  agent
    .command('shutdown')
    .description(
      "kill every task of an agent and stop it, for good (a stop signal leaves its containers running): as an admin naming it, or on its machine with --work-dir and the agent's own credential",
    )
    .argument('[id]', 'the agent (galaxy agents lists them)')
    .option('-m, --master <host:port|url>', 'the master, or zk://… to find the leader')
    .option('-w, --work-dir <dir>', "the agent's work dir: call with the credential it keeps there")
    .action(async (id: string | undefined, flags: { master?: string; workDir?: string }) => {
      // `agent` itself (the daemon) takes --work-dir too, with a default: only one given here counts.
      const given =
        agent.getOptionValueSource('workDir') === 'cli' ? agent.opts<{ workDir?: string }>().workDir : undefined;
      const { agentId, token } = await shutdownIdentity(id, flags.workDir ?? given);
      // `agent` itself (the daemon) takes --master too and may have parsed it.
      const master = flags.master ?? agent.opts<{ master?: string }>().master ?? defaultMaster;
      const address = await new LeaderLocator(master, MASTER_GROUP).locate();
      const client = new AgentGatewayClient(address, channelCredentials(cliTls()), clientOptions(token));
      try {
        const { tasks } = await callUnary<ShutdownAgentResponse>(`the master at ${address}`, (cb) =>
          client.shutdown({ agentId }, cb),
        );
        console.log(`agent ${agentId} is shutting down: it kills its ${tasks} task(s) and exits`);
      } finally {
        client.close();
      }
    });
}
