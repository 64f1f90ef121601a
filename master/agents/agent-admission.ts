/**
 * Who may register as which agent, and whose status updates count (docs/security.md, "Agents
 * have their own identities"). Pure decisions over the caller's principal; the agent gateway and
 * the agents controller carry them out.
 */
import type { Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import type { TaskStatus } from '../../proto/gen/galaxy/v1/common.js';

/** How a registration is admitted. */
export type Admission =
  /** An admin (or anyone, on an open master): the id the agent names, or a new one. */
  | { readonly kind: 'as-named' }
  /** An agent's credential: its own id, whatever the registration says (empty or the same). */
  | { readonly kind: 'bound'; readonly agentId: string }
  /** A join token: a new agent, whose credential the master issues now. */
  | { readonly kind: 'join'; readonly joinToken: string };

/**
 * How `principal` may register when the registration names `requestedId` ('' for a first
 * registration). Throws `GALAXY_E_PERMISSION_DENIED`, naming both ids, when a credential names
 * another agent's id, a join token names any id, or the principal is no agent and no admin.
 */
export function admitAgent(principal: Principal, requestedId: string): Admission {
  if (principal.kind === 'user' && principal.admin) return { kind: 'as-named' };
  if (principal.kind === 'agent' && principal.agentId !== undefined) {
    if (requestedId !== '' && requestedId !== principal.agentId)
      throw new GalaxyError(
        'GALAXY_E_PERMISSION_DENIED',
        `the credential of agent ${principal.agentId} may not register as agent ${requestedId}`,
      );
    return { kind: 'bound', agentId: principal.agentId };
  }
  if (principal.kind === 'agent' && principal.joinToken !== undefined) {
    if (requestedId !== '')
      throw new GalaxyError(
        'GALAXY_E_PERMISSION_DENIED',
        `a join token admits a new agent, not agent ${requestedId}: that agent registers with its own credential (<work-dir>/meta/credential), or an admin issues one (galaxy agent credential ${requestedId})`,
      );
    return { kind: 'join', joinToken: principal.joinToken };
  }
  throw new GalaxyError(
    'GALAXY_E_PERMISSION_DENIED',
    `${principal.kind} ${principal.user} holds no agent credential: an agent registers with a join token (galaxy agent join-token) or its own credential (galaxy agent credential <id>)`,
  );
}

/**
 * Why agent `agentId` may not report `status`, or undefined when it may: the task must be one the
 * master placed on that agent (`placedOn`: the agent of the master's record of the task, if it
 * has one), and the status may name no other agent.
 */
export function statusRefusal(agentId: string, status: TaskStatus, placedOn: string | undefined): string | undefined {
  if (status.agentId !== '' && status.agentId !== agentId)
    return `agent ${agentId} reported a status naming agent ${status.agentId}`;
  if (placedOn === undefined)
    return `agent ${agentId} reported task ${status.taskId} of framework ${status.frameworkId}, which the master did not place anywhere`;
  if (placedOn !== agentId)
    return `agent ${agentId} reported task ${status.taskId} of framework ${status.frameworkId}, which runs on agent ${placedOn}`;
  return undefined;
}
