/**
 * Attacks on agents' identities, against a real `galaxy master` process (no --coordinator: it
 * authenticates, with its users and agents in its work directory), real `galaxy agent` processes
 * that joined with join tokens, and hand-driven agent streams for what a real agent never sends:
 *
 * - an agent's credential registering as another agent: refused, and that agent, its task and its
 *   framework are undisturbed (also while that agent is away, when the id would be free to take);
 * - an agent reporting a status for another agent's task (or naming another agent): refused, and
 *   the task's state is unchanged everywhere;
 * - a used-up or expired join token: refused with the reason, no agent admitted; a real agent
 *   given an expired token stops with the reason instead of retrying;
 * - a revoked credential: its agent is disconnected at once, stops with the reason, and the
 *   credential is refused from then on.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorClient, type Operator } from '../../cli/operator-client.js';
import { TaskState, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { runCli } from '../helpers/cli.js';
import { masterJoinToken, writeJoinToken } from '../helpers/identity.js';
import {
  galaxy,
  killWithEnv,
  processesWithEnv,
  startMasterProcess,
  stopAll,
  type GalaxyProcess,
  type MasterProcess,
} from '../helpers/processes.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework, ackedUuids } from '../helpers/raw-clients.js';
import { launchSleeper, statusOf } from '../helpers/framework-events.js';

let dir = '';
let master: MasterProcess;
let op: Operator;
let fw: RawFramework;
let frameworkId = '';
/** The victim agent: a real process, joined with a join token; it runs `victimTask`. */
let victim: GalaxyProcess;
let victimId = '';
const victimTask = 'victim-task';
const raws: RawAgent[] = [];

/** Starts a real agent in `<dir>/<name>` with a fresh join token; resolves once its id is kept. */
async function startAgentProcess(name: string): Promise<{ proc: GalaxyProcess; id: string; workDir: string }> {
  const workDir = join(dir, name);
  const token = await writeJoinToken(join(dir, `${name}.join`), await masterJoinToken(master));
  const proc = galaxy([
    'agent',
    '--master',
    master.address,
    '--work-dir',
    workDir,
    '--hostname',
    name,
    '--resources',
    'cpus:1;mem:1GiB;disk:1GiB',
    '--join-token-file',
    token,
  ]);
  const idFile = join(workDir, 'meta', 'agent-id');
  await eventually(() => existsSync(idFile), 15_000, `agent ${name} to register`);
  return { proc, id: (await readFile(idFile, 'utf8')).trim(), workDir };
}

/** A hand-driven agent admitted with a fresh join token: its id and the credential it was given. */
async function joinedRawAgent(hostname: string): Promise<{ raw: RawAgent; id: string; credential: string }> {
  const raw = rawAgent(master.address, { hostname }, [], [], await masterJoinToken(master));
  raws.push(raw);
  return { raw, id: await raw.registered, credential: await raw.credential };
}

/** The master's view of the victim's task. */
async function victimTaskNow(): Promise<{ state: TaskState; agentId: string } | undefined> {
  return (await op.listTasks({ frameworkId: '' }).then((r) => r.tasks)).find((t) => t.taskId === victimTask);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-sec-agents-'));
  master = await startMasterProcess(join(dir, 'master'), ['--agent-reregister-timeout', '120']);
  op = operatorClient(master.address, master.adminToken);
  const started = await startAgentProcess('victim');
  victim = started.proc;
  victimId = started.id;
  fw = rawFramework(master.address, { name: 'victim-framework', failoverTimeoutS: 300 }, true, master.adminToken);
  frameworkId = await fw.frameworkId;
  await fw.call({ call: { $case: 'revive', revive: { roles: [] } } });
  const offers = await fw.events.waitFor(
    (e) => e.event?.$case === 'offers' && e.event.offers.offers.some((o) => o.agentId === victimId),
    10_000,
    "an offer of the victim's agent",
  );
  const offer =
    offers.event?.$case === 'offers' ? offers.event.offers.offers.find((o) => o.agentId === victimId) : undefined;
  await launchSleeper(fw, offer, victimTask);
}, 60_000);

afterAll(async () => {
  for (const raw of raws) raw.close();
  fw.close();
  op.close();
  await stopAll();
  killWithEnv(`GALAXY_SANDBOX=${dir}`);
  await rm(dir, { recursive: true, force: true });
});

describe('agent identity attacks', { timeout: 60_000 }, () => {
  it("refuses an agent's status for another agent's task, and the task's state is unchanged", async () => {
    const attacker = await joinedRawAgent('attacker-status');
    const forged = (uuid: string, agentId: string): void => {
      attacker.raw.send({
        message: {
          $case: 'statusUpdate',
          statusUpdate: {
            status: TaskStatus.create({
              taskId: victimTask,
              frameworkId,
              agentId,
              state: TaskState.TASK_FINISHED,
              message: 'forged',
              uuid,
            }),
          },
        },
      });
    };
    forged('forged-own-id', attacker.id);
    forged('forged-victim-id', victimId);
    // The master acknowledges both (so an agent stops resending) and applies neither.
    for (const uuid of ['forged-own-id', 'forged-victim-id'])
      await attacker.raw.received.waitFor((m) => ackedUuids(m).includes(uuid), 5000, uuid);
    await new Promise((r) => setTimeout(r, 500));
    expect(
      fw.events.items.filter((e) => statusOf(e)?.taskId === victimTask).map((e) => statusOf(e)?.state),
    ).not.toContain(TaskState.TASK_FINISHED);
    expect(await victimTaskNow()).toMatchObject({ state: TaskState.TASK_RUNNING, agentId: victimId });
    expect(processesWithEnv(`GALAXY_TASK_ID=${victimTask}\0`)).toHaveLength(1);
  });

  it("refuses an agent's credential registering as another agent, present or away, and the other is undisturbed", async () => {
    const attacker = await joinedRawAgent('attacker-register');
    const impostor = (): RawAgent => {
      const raw = rawAgent(master.address, { id: victimId, hostname: 'impostor' }, [], [], attacker.credential);
      raws.push(raw);
      return raw;
    };
    const refusal = new RegExp(
      `GALAXY_E_PERMISSION_DENIED: the credential of agent ${attacker.id} may not register as agent ${victimId}`,
    );
    // Present: refused for who it is (not merely because the id is taken).
    await expect(impostor().registered).rejects.toThrow(refusal);
    const present = (await op.listAgents({}).then((r) => r.agents)).find((a) => a.info?.id === victimId);
    expect(present).toMatchObject({ active: true, tasks: 1 });
    expect(present?.info?.hostname).toBe('victim');

    // Away (killed; its task runs on): the id would be free to take over, with none of its tasks.
    await victim.stop('SIGKILL');
    await eventually(
      async () =>
        (await op.listAgents({}).then((r) => r.agents)).find((a) => a.info?.id === victimId)?.active === false,
      15_000,
      'the master to notice the victim left',
    );
    await expect(impostor().registered).rejects.toThrow(refusal);
    await new Promise((r) => setTimeout(r, 500));
    // Had it been admitted, its empty task list would have made the victim's task LOST.
    expect(await victimTaskNow()).toMatchObject({ state: TaskState.TASK_RUNNING, agentId: victimId });
    expect(fw.events.items.filter((e) => statusOf(e)?.taskId === victimTask).map((e) => statusOf(e)?.state)).toEqual([
      TaskState.TASK_STARTING,
      TaskState.TASK_RUNNING,
    ]);
    expect((await op.listAgents({}).then((r) => r.agents)).find((a) => a.info?.id === victimId)?.info?.hostname).toBe(
      'victim',
    );
  });

  it('refuses a used-up or an expired join token, admitting no agent; a real agent stops on it', async () => {
    // Made by the CLI (printed once, on stdout), as an admin does.
    const made = await runCli(['agent', 'join-token', '--uses', '1', '--ttl', '5m', '--master', master.address], {
      env: { GALAXY_TOKEN: master.adminToken },
    });
    expect(made.code, made.stderr).toBe(0);
    const token = made.stdout.trim();
    expect(made.stderr).toMatch(/join token jt-[0-9a-f]+ admits 1 agent\(s\) until /);
    const first = rawAgent(master.address, { hostname: 'first' }, [], [], token);
    raws.push(first);
    await first.registered;
    const before = (await op.listAgents({}).then((r) => r.agents)).length;
    const second = rawAgent(master.address, { hostname: 'second' }, [], [], token);
    raws.push(second);
    await expect(second.registered).rejects.toThrow(
      /GALAXY_E_UNAUTHENTICATED: join token jt-[0-9a-f]+ is used up \(1 of 1 uses\); an admin makes a new one/,
    );

    const expiring = await masterJoinToken(master, 1000, 5);
    await new Promise((r) => setTimeout(r, 1200));
    const late = rawAgent(master.address, { hostname: 'late' }, [], [], expiring);
    raws.push(late);
    await expect(late.registered).rejects.toThrow(/GALAXY_E_UNAUTHENTICATED: join token jt-[0-9a-f]+ expired at /);
    expect(await op.listAgents({}).then((r) => r.agents)).toHaveLength(before);

    // A real agent with the expired token says why and exits, instead of knocking forever.
    const file = join(dir, 'expired.join');
    await writeFile(file, `${expiring}\n`, { mode: 0o600 });
    const started = Date.now();
    const agent = galaxy([
      'agent',
      '--master',
      master.address,
      '--work-dir',
      join(dir, 'late-agent'),
      '--join-token-file',
      file,
    ]);
    expect(await agent.exited).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(agent.lines.items.join('\n')).toMatch(/error: GALAXY_E_UNAUTHENTICATED: join token jt-[0-9a-f]+ expired at/);
    expect(existsSync(join(dir, 'late-agent', 'meta', 'credential'))).toBe(false);
  });

  it('disconnects an agent whose credential is revoked, and refuses the credential from then on', async () => {
    const agent = await startAgentProcess('revoked');
    const credential = (await readFile(join(agent.workDir, 'meta', 'credential'), 'utf8')).trim();
    await eventually(
      async () => (await op.listAgents({}).then((r) => r.agents)).find((a) => a.info?.id === agent.id)?.active === true,
      10_000,
      'the agent to be active',
    );
    const revoked = await runCli(['agent', 'credential', agent.id, '--revoke', '--master', master.address], {
      env: { GALAXY_TOKEN: master.adminToken },
    });
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout.trim()).toBe(`credential of agent ${agent.id} revoked`);
    // Its stream ends at once; the agent says why and exits.
    expect(await agent.proc.exited).toBe(2);
    expect(agent.proc.lines.items.join('\n')).toMatch(
      new RegExp(`error: GALAXY_E_UNAUTHENTICATED: the credential of agent ${agent.id} was revoked or replaced`),
    );
    expect((await op.listAgents({}).then((r) => r.agents)).find((a) => a.info?.id === agent.id)?.active).toBe(false);
    const again = rawAgent(master.address, { id: agent.id, hostname: 'revoked' }, [], [], credential);
    raws.push(again);
    await expect(again.registered).rejects.toThrow(/GALAXY_E_UNAUTHENTICATED: .* carries an unknown or revoked token/);
    expect((await op.listAgents({}).then((r) => r.agents)).find((a) => a.info?.id === agent.id)?.active).toBe(false);
  });
});
