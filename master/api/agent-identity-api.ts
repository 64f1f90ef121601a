/**
 * gRPC adapter of the AgentIdentityAdmin service (`galaxy agent join-token|credential|credentials`):
 * admins make join tokens and issue or revoke agents' credentials. The answers to
 * CreateJoinToken and IssueAgentCredential are the only places those secrets are ever sent.
 */
import { adminOnly } from '../../core/auth/caller.js';
import type { AgentIdentityStore } from '../../core/tenancy/agent-identities.js';
import type { AgentIdentityAdminServer } from '../../proto/gen/galaxy/v1/agent_identity.js';

/** Builds the AgentIdentityAdmin implementation over `identities`. */
export function agentIdentityApi(identities: AgentIdentityStore): AgentIdentityAdminServer {
  return {
    createJoinToken: adminOnly('make join tokens', async (request) => {
      const { info, token } = await identities.createJoinToken(request.ttlS * 1000, request.uses);
      return { info, token };
    }),
    revokeJoinToken: adminOnly('revoke join tokens', async (request) => {
      await identities.revokeJoinToken(request.id);
      return {};
    }),
    issueAgentCredential: adminOnly('issue agent credentials', async (request) => {
      const credential = await identities.issueCredential(request.agentId);
      return { info: { agentId: request.agentId, createdAt: Date.now() }, credential };
    }),
    revokeAgentCredential: adminOnly('revoke agent credentials', async (request) => {
      await identities.revokeCredential(request.agentId);
      return {};
    }),
    listAgentIdentities: adminOnly('list agent identities', async () => identities.list()),
  };
}
