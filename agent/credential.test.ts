/**
 * The agent's side of its identity, against a scripted fake master on a real gRPC server: it
 * registers first with the token it was given (a join token), keeps the credential the master
 * sends back in `<work-dir>/meta/credential` (0600 in a 0700 directory), registers with that
 * credential from then on (also after a restart, whatever token it is given), and stops for good
 * when the master refuses its identity instead of knocking again.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../test/helpers/async-queue.js';
import { startAgent, type Agent } from './agent.js';
import { readCredential } from './credential.js';
import { startFakeAgentMaster, type FakeAgentMaster } from './testing/fake-master.js';

let workDir = '';
let master: FakeAgentMaster | undefined;
const agents: Agent[] = [];

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-agent-credential-'));
});

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.stop();
  await master?.stop();
  master = undefined;
  await rm(workDir, { recursive: true, force: true });
});

async function agentWith(token: string): Promise<Agent> {
  const agent = await startAgent({
    master: master?.address ?? '',
    workDir,
    resources: 'cpus:1;mem:1GiB',
    hostname: 'node-1',
    logLevel: 'silent',
    token,
  });
  agents.push(agent);
  return agent;
}

describe("the agent's credential", () => {
  it('is exchanged for the join token, kept 0600 in a 0700 directory, and used from then on', async () => {
    master = await startFakeAgentMaster({
      agentId: 'agent-7',
      credential: (r) => (r.agentInfo?.id === '' ? 'glx_the-credential' : ''),
    });
    const agent = await agentWith('glx_join-token');
    await eventually(() => agent.connected, 5000, 'registration');
    expect(master.bearers.items).toEqual(['glx_join-token']);
    await eventually(async () => (await readCredential(workDir)) === 'glx_the-credential', 5000, 'the credential');
    expect((await stat(join(workDir, 'meta'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(workDir, 'meta', 'credential'))).mode & 0o777).toBe(0o600);
    // The id is kept right after the credential (agent.ts, remember): it may land a moment later.
    await eventually(
      async () => (await readFile(join(workDir, 'meta', 'agent-id'), 'utf8').catch(() => '')).trim() === 'agent-7',
      5000,
      'the agent id kept',
    );

    master.closeStreams();
    await master.registrations.waitFor((r) => r.agentInfo?.id === 'agent-7', 10_000, 're-registration');
    expect(master.bearers.items).toEqual(['glx_join-token', 'glx_the-credential']);

    // Restarted with the (spent) join token again: the kept credential is its identity.
    await agent.stop();
    agents.length = 0;
    const again = await agentWith('glx_join-token');
    await eventually(() => again.connected, 5000, 'registration after the restart');
    expect(master.bearers.items.at(-1)).toBe('glx_the-credential');
  });

  it('an operator may place an issued credential; a looser file mode is tightened', async () => {
    await mkdir(join(workDir, 'meta'), { recursive: true });
    await writeFile(join(workDir, 'meta', 'credential'), 'glx_issued\n');
    await chmod(join(workDir, 'meta', 'credential'), 0o644);
    await chmod(join(workDir, 'meta'), 0o755);
    master = await startFakeAgentMaster();
    const agent = await agentWith('glx_ignored');
    await eventually(() => agent.connected, 5000, 'registration');
    expect(master.bearers.items).toEqual(['glx_issued']);
    expect((await stat(join(workDir, 'meta', 'credential'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(workDir, 'meta'))).mode & 0o777).toBe(0o700);
  });

  it('stops for good, with the reason, when the master refuses its identity', async () => {
    master = await startFakeAgentMaster({
      onRegister: () => ({
        $case: 'error',
        error: {
          code: 'GALAXY_E_UNAUTHENTICATED',
          message: 'GALAXY_E_UNAUTHENTICATED: the credential of agent agent-1 was revoked or replaced',
        },
      }),
    });
    const agent = await agentWith('glx_revoked');
    const refusal = await agent.refused;
    expect(refusal.message).toBe('GALAXY_E_UNAUTHENTICATED: the credential of agent agent-1 was revoked or replaced');
    await new Promise((r) => setTimeout(r, 1500));
    expect(master.registrations.items).toHaveLength(1);
  });
});
