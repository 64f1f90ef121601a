/**
 * Who may shut an agent down (`mayShutDown`), without a master: admins any agent, an agent's own
 * credential itself only, nobody else.
 */
import { describe, expect, it } from 'vitest';
import { mayShutDown } from './agent-shutdown-api.js';

describe('mayShutDown', () => {
  it('lets an admin shut down any agent', () => {
    expect(mayShutDown({ user: 'root', admin: true, kind: 'user' }, 'agent-1')).toBe(true);
  });

  it("lets an agent's credential shut down that agent only", () => {
    const own = { user: 'agent', admin: false, kind: 'agent' as const, agentId: 'agent-1' };
    expect(mayShutDown(own, 'agent-1')).toBe(true);
    expect(mayShutDown(own, 'agent-2')).toBe(false);
  });

  it('refuses users who are not admins, join tokens and pods', () => {
    expect(mayShutDown({ user: 'alice', admin: false, kind: 'user' }, 'agent-1')).toBe(false);
    expect(mayShutDown({ user: 'agent', admin: false, kind: 'agent', joinToken: 'jt-1' }, 'agent-1')).toBe(false);
    // A join token's principal never names an agent id; were one to, it is still not that agent's identity.
    expect(
      mayShutDown({ user: 'agent', admin: false, kind: 'agent', joinToken: 'jt-1', agentId: 'agent-1' }, 'agent-1'),
    ).toBe(false);
    expect(mayShutDown({ user: 'alice', admin: true, kind: 'pod' }, 'agent-1')).toBe(false);
  });
});
