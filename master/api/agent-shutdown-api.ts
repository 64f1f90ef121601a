/**
 * The AgentGateway RPC `Shutdown` (`galaxy agent shutdown`): the one way to kill every task of an
 * agent at once, since a stop signal leaves its containers running (docs/security.md, "Agent
 * shutdown"). Only an admin, or the agent's own credential (whoever holds its work dir), may.
 */
import { unaryAsCaller } from '../../core/auth/caller.js';
import type { Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { checkId } from '../../core/validate.js';
import type { AgentGatewayServer } from '../../proto/gen/galaxy/v1/agent.js';
import type { AgentsController } from '../agents/agents.js';

/** True when `caller` may shut down agent `agentId`: an admin user, or that agent's own credential. */
export function mayShutDown(caller: Principal, agentId: string): boolean {
  if (caller.kind === 'user') return caller.admin;
  // A join token admits a new agent; it is no agent's identity yet.
  return caller.kind === 'agent' && caller.joinToken === undefined && caller.agentId === agentId;
}

/** Builds the handler. */
export function agentShutdownApi(agents: AgentsController): Pick<AgentGatewayServer, 'shutdown'> {
  return {
    shutdown: unaryAsCaller((request, caller) => {
      checkId(request.agentId, 'agent_id');
      if (!mayShutDown(caller, request.agentId))
        throw new GalaxyError(
          'GALAXY_E_PERMISSION_DENIED',
          `only an admin or agent ${request.agentId}'s own credential may shut it down; ${caller.user} is neither`,
        );
      return {
        tasks: agents.shutdown(request.agentId, caller.kind === 'agent' ? `agent ${request.agentId}` : caller.user),
      };
    }),
  };
}
