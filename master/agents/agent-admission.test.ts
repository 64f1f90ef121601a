/**
 * The agent identity rules, without I/O: a credential registers only as its own agent, a join
 * token only as a new agent, an admin (or an open master's caller) as any; anyone else is refused.
 * A status counts only for a task the master placed on the reporting agent, naming no other.
 */
import { describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL, type Principal } from '../../core/auth/principal.js';
import { TaskState, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { admitAgent, statusRefusal } from './agent-admission.js';

const credential: Principal = { user: 'agent', admin: false, kind: 'agent', agentId: 'agent-a' };
const join: Principal = { user: 'agent', admin: false, kind: 'agent', joinToken: 'jt-1' };
const legacy: Principal = { user: 'agent', admin: false, kind: 'agent' };
const admin: Principal = { user: 'root', admin: true, kind: 'user' };

describe('admitAgent', () => {
  it('binds a credential to its own agent id', () => {
    expect(admitAgent(credential, '')).toEqual({ kind: 'bound', agentId: 'agent-a' });
    expect(admitAgent(credential, 'agent-a')).toEqual({ kind: 'bound', agentId: 'agent-a' });
    expect(() => admitAgent(credential, 'agent-b')).toThrow(
      /^GALAXY_E_PERMISSION_DENIED: the credential of agent agent-a may not register as agent agent-b$/,
    );
  });

  it('admits only a new agent with a join token', () => {
    expect(admitAgent(join, '')).toEqual({ kind: 'join', joinToken: 'jt-1' });
    expect(() => admitAgent(join, 'agent-b')).toThrow(
      /GALAXY_E_PERMISSION_DENIED: a join token admits a new agent, not agent agent-b: .*galaxy agent credential agent-b/,
    );
  });

  it('lets admins and the open principal register as any agent', () => {
    expect(admitAgent(admin, 'agent-b')).toEqual({ kind: 'as-named' });
    expect(admitAgent(OPEN_PRINCIPAL, '')).toEqual({ kind: 'as-named' });
  });

  it('refuses the shared agent token of old, users and pods', () => {
    for (const principal of [legacy, { ...admin, admin: false }, { user: 'bob', admin: false, kind: 'pod' as const }])
      expect(() => admitAgent(principal, '')).toThrow(/GALAXY_E_PERMISSION_DENIED: .* holds no agent credential/);
  });
});

describe('statusRefusal', () => {
  const status = (agentId: string): TaskStatus =>
    TaskStatus.create({ taskId: 't1', frameworkId: 'fw', agentId, state: TaskState.TASK_RUNNING, uuid: 'u' });

  it('accepts a status for a task placed on the reporting agent', () => {
    expect(statusRefusal('agent-a', status('agent-a'), 'agent-a')).toBeUndefined();
    expect(statusRefusal('agent-a', status(''), 'agent-a')).toBeUndefined();
  });

  it("refuses another agent's task, an unknown task, and a status naming another agent", () => {
    expect(statusRefusal('agent-a', status('agent-a'), 'agent-b')).toBe(
      'agent agent-a reported task t1 of framework fw, which runs on agent agent-b',
    );
    expect(statusRefusal('agent-a', status('agent-a'), undefined)).toMatch(/which the master did not place anywhere/);
    expect(statusRefusal('agent-a', status('agent-b'), 'agent-a')).toBe(
      'agent agent-a reported a status naming agent agent-b',
    );
  });
});
