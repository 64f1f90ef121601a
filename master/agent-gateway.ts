/**
 * gRPC adapter of the AgentGateway service: one bidirectional stream per agent.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { MasterMessage, type AgentGatewayServer, type AgentMessage } from '../proto/gen/galaxy/v1/agent.js';
import { GalaxyError, isGalaxyError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { AgentsController } from './agents.js';
import type { UsageCollector } from './usage.js';
import type { AgentConnection, AgentRecord } from './records.js';
import { boundedConnection, type StreamBounds } from './streams.js';

/** Builds the AgentGateway implementation over the agents controller. */
export function agentGateway(
  agents: AgentsController,
  usage: UsageCollector,
  log: Logger,
  bounds: StreamBounds,
): AgentGatewayServer {
  return {
    connect(stream: ServerDuplexStream<AgentMessage, MasterMessage>): void {
      let agent: AgentRecord | undefined;
      const connection: AgentConnection = boundedConnection(
        stream,
        (message) => MasterMessage.encode(message).finish().byteLength,
        bounds,
        () => `agent ${agent?.info.id ?? '(registering)'}`,
        () => {
          gone();
        },
      );
      const refuse = (error: unknown): void => {
        const galaxy = isGalaxyError(error) ? error : new GalaxyError('GALAXY_E_INTERNAL', String(error));
        log.warn({ code: galaxy.code }, galaxy.message);
        connection.send({ message: { $case: 'error', error: { code: galaxy.code, message: galaxy.message } } });
        connection.close();
      };
      stream.on('data', (message: AgentMessage) => {
        const body = message.message;
        try {
          if (body?.$case === 'register') {
            if (agent) throw new GalaxyError('GALAXY_E_AGENT_INVALID', 'an agent registers once per stream');
            agent = agents.register(body.register, connection);
            return;
          }
          if (!agent)
            throw new GalaxyError('GALAXY_E_NOT_REGISTERED', 'the first message on a stream must be RegisterAgent');
          if (body?.$case === 'pong') agents.pong(agent);
          else if (body?.$case === 'statusUpdate' && body.statusUpdate.status)
            agents.statusUpdate(agent, body.statusUpdate.status);
          else if (body?.$case === 'usage') usage.report(agent.info.id, body.usage);
        } catch (error) {
          refuse(error);
        }
      });
      const gone = (): void => {
        connection.markClosed();
        if (agent) agents.disconnected(agent, connection);
      };
      stream.on('end', () => {
        gone();
        stream.end();
      });
      stream.on('error', gone);
      stream.on('cancelled', gone);
    },
  };
}
