/**
 * gRPC adapter of the AgentGateway service: one bidirectional stream per agent. The stream's
 * principal decides which agent it may register as ({@link admitAgent}): a credential registers
 * only as its own agent, a join token admits a new agent and is exchanged for that agent's
 * credential, sent back once in AgentRegistered.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import {
  MasterMessage,
  type AgentGatewayServer,
  type AgentMessage,
  type RegisterAgent,
} from '../../proto/gen/galaxy/v1/agent.js';
import { principalOf } from '../../core/auth/principal.js';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import { checkStatusBatch } from '../../core/status-batch.js';
import type { Logger } from '../../core/logger.js';
import type { AgentIdentityStore } from '../../core/tenancy/agent-identities.js';
import { admitAgent } from '../agents/agent-admission.js';
import { agentShutdownApi } from './agent-shutdown-api.js';
import type { AgentsController } from '../agents/agents.js';
import type { UsageCollector } from '../accounting/usage.js';
import type { LogProxy } from '../logs/log-proxy.js';
import type { AgentConnection, AgentRecord } from '../records.js';
import { boundedConnection, type StreamBounds } from './streams.js';

/** Builds the AgentGateway implementation over the agents controller. */
export function agentGateway(
  agents: AgentsController,
  usage: UsageCollector,
  log: Logger,
  bounds: StreamBounds,
  /** Where join tokens are redeemed; without it only admins (or anyone, when open) register agents. */
  identities?: AgentIdentityStore,
  /** Where the agents' answers to log reads go. */
  logs?: LogProxy,
): AgentGatewayServer {
  return {
    ...agentShutdownApi(agents),
    connect(stream: ServerDuplexStream<AgentMessage, MasterMessage>): void {
      let agent: AgentRecord | undefined;
      let registering = false;
      let gone = false;
      const principal = principalOf(stream);
      const connection: AgentConnection = boundedConnection(
        stream,
        (message) => MasterMessage.encode(message).finish().byteLength,
        bounds,
        () => `agent ${agent?.info.id ?? '(registering)'}`,
        () => {
          ended();
        },
      );
      const refuse = (error: unknown): void => {
        const galaxy = isGalaxyError(error) ? error : new GalaxyError('GALAXY_E_INTERNAL', String(error));
        log.warn({ code: galaxy.code, agent: agent?.info.id }, galaxy.message);
        connection.send({ message: { $case: 'error', error: { code: galaxy.code, message: galaxy.message } } });
        connection.close();
      };
      /** Admits a registration through a join token: spends a use, issues the credential, registers. */
      const join = async (registration: RegisterAgent, joinToken: string): Promise<void> => {
        if (!identities) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', 'this master redeems no join tokens');
        // Checked before a use of the token is spent on a registration that would be refused anyway.
        agents.validate(registration);
        const id = agents.newAgentId();
        const credential = await identities.redeem(joinToken, id);
        if (gone) return; // the agent left meanwhile; it registers again (the token's use is spent)
        agent = agents.register(registration, connection, { id, credential });
        log.info({ agent: id, joinToken }, 'admitted a new agent with a join token');
      };
      stream.on('data', (message: AgentMessage) => {
        const body = message.message;
        try {
          if (body?.$case === 'register') {
            if (agent || registering)
              throw new GalaxyError('GALAXY_E_AGENT_INVALID', 'an agent registers once per stream');
            if (!principal) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', 'the stream carries no bearer token');
            const admission = admitAgent(principal, body.register.agentInfo?.id ?? '');
            if (admission.kind === 'join') {
              registering = true;
              join(body.register, admission.joinToken).then(
                () => {
                  registering = false;
                },
                (error: unknown) => {
                  registering = false;
                  refuse(error);
                },
              );
              return;
            }
            agent = agents.register(
              body.register,
              connection,
              admission.kind === 'bound' ? { id: admission.agentId } : {},
            );
            return;
          }
          if (!agent)
            throw new GalaxyError('GALAXY_E_NOT_REGISTERED', 'the first message on a stream must be RegisterAgent');
          if (body?.$case === 'pong') agents.pong(agent);
          else if (body?.$case === 'statusUpdate' && body.statusUpdate.status)
            agents.statusUpdate(agent, body.statusUpdate.status);
          else if (body?.$case === 'statusUpdates') {
            // Checked whole before any is applied: a refused batch changes nothing.
            checkStatusBatch(body.statusUpdates.statuses.length);
            for (const status of body.statusUpdates.statuses) agents.statusUpdate(agent, status);
          } else if (body?.$case === 'usage') usage.report(agent.info.id, body.usage);
          else if (body?.$case === 'logData') logs?.answer(agent.info.id, body.logData);
          else if (body?.$case === 'revocableEstimate')
            agents.revocableEstimate(agent, body.revocableEstimate.resources);
          else if (body?.$case === 'keptVolumes') agents.keptVolumes(agent, body.keptVolumes.volumes);
        } catch (error) {
          refuse(error);
        }
      });
      const ended = (): void => {
        gone = true;
        connection.markClosed();
        if (agent) {
          logs?.agentGone(agent.info.id);
          agents.disconnected(agent, connection);
        }
      };
      stream.on('end', () => {
        ended();
        stream.end();
      });
      stream.on('error', ended);
      stream.on('cancelled', ended);
    },
  };
}
