/**
 * Who may shut an agent down (docs/security.md, "Agent shutdown"), against a real `galaxy master`
 * process (it authenticates) and a real `galaxy agent` running a real container:
 *
 * - a user who is not an admin, another agent's credential and a join token are refused with
 *   GALAXY_E_PERMISSION_DENIED, and nothing changes: the agent stays connected, its container runs;
 * - a stop signal is not a shutdown: SIGTERM leaves the container running and its checkpoint in
 *   place, and the agent started again re-attaches to it;
 * - the agent's own credential (`--work-dir`) shuts it down: the task is KILLED, the container and
 *   its checkpoint are gone, the agent exits 0 and the master removes it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroupDriver } from '../../agent/cgroups/index.js';
import { operatorClient, type Operator } from '../../cli/operator-client.js';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { exitWithin } from '../helpers/chaos-probes.js';
import { runCli } from '../helpers/cli.js';
import { masterJoinToken, writeJoinToken } from '../helpers/identity.js';
import {
  galaxy,
  killWithEnv,
  processesWithEnv,
  releaseUidClaims,
  startMasterProcess,
  stopAll,
  type GalaxyProcess,
  type MasterProcess,
} from '../helpers/processes.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../helpers/raw-clients.js';
import { launchSleeper, statusOf } from '../helpers/framework-events.js';

const cgroupRoot = `galaxy-shutdown-test-${randomBytes(4).toString('hex')}`;
let dir = '';
let master: MasterProcess;
let op: Operator;
let fw: RawFramework;
let agent: GalaxyProcess;
let agentId = '';
let agentDir = '';
let other: RawAgent | undefined;
const TASK = 'shutdown-victim';

/** The agent process on `agentDir` (it keeps the credential it got with its join token). */
function startAgent(joinToken: string): GalaxyProcess {
  return galaxy([
    'agent',
    '--master',
    master.address,
    '--work-dir',
    agentDir,
    '--hostname',
    'shutdown-host',
    '--resources',
    'cpus:1;mem:1GiB',
    '--isolation',
    'pids',
    '--cgroup-root',
    cgroupRoot,
    '--join-token-file',
    joinToken,
  ]);
}

/** Pids of the container's processes (its monitor, init and task). */
function containerPids(): number[] {
  return processesWithEnv(`GALAXY_TASK_ID=${TASK}`).sort((a, b) => a - b);
}

function checkpoints(): string[] {
  const tasks = join(agentDir, 'meta', 'tasks');
  return existsSync(tasks)
    ? readdirSync(tasks, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'))
    : [];
}

/** `galaxy agent shutdown …args` as `token` (none: the CLI finds no token). */
function shutdown(args: string[], token?: string) {
  return runCli(['agent', 'shutdown', ...args, '--master', master.address], {
    env: token === undefined ? {} : { GALAXY_TOKEN: token },
  });
}

async function connected(): Promise<boolean> {
  return (await op.listAgents({}).then((r) => r.agents)).find((a) => a.info?.id === agentId)?.active === true;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-sec-shutdown-'));
  agentDir = join(dir, 'agent');
  master = await startMasterProcess(join(dir, 'master'), ['--agent-reregister-timeout', '120']);
  op = operatorClient(master.address, master.adminToken);
  agent = startAgent(await writeJoinToken(join(dir, 'agent.join'), await masterJoinToken(master)));
  const idFile = join(agentDir, 'meta', 'agent-id');
  await eventually(() => existsSync(idFile), 15_000, 'the agent to register');
  agentId = (await readFile(idFile, 'utf8')).trim();
  fw = rawFramework(master.address, { name: 'shutdown-framework', failoverTimeoutS: 300 }, true, master.adminToken);
  await fw.frameworkId;
  const offers = await fw.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'an offer');
  const offer = offers.event?.$case === 'offers' ? offers.event.offers.offers[0] : undefined;
  await launchSleeper(fw, offer, TASK);
}, 60_000);

afterAll(async () => {
  other?.close();
  fw.close();
  op.close();
  await stopAll();
  killWithEnv(`GALAXY_SANDBOX=${agentDir}`);
  releaseUidClaims(agentDir);
  await detectCgroupDriver().remove(cgroupRoot, ['cpu', 'cpuacct', 'memory', 'pids', 'freezer']);
  await rm(dir, { recursive: true, force: true });
});

describe('galaxy agent shutdown', () => {
  it('is refused to a user who is not an admin, to another agent and to a join token: nothing changes', async () => {
    // The container's helper (its monitor on the host), the namespace's init (it writes the task's
    // output too) and the task.
    const pids = containerPids();
    expect(pids).toHaveLength(3);
    const added = await runCli(['user', 'add', 'mallory', '--master', master.address], {
      env: { GALAXY_TOKEN: master.adminToken },
    });
    expect(added.code).toBe(0);
    other = rawAgent(master.address, { hostname: 'other-host' }, [], [], await masterJoinToken(master));
    await other.registered;
    const attempts = {
      'a user': await shutdown([agentId], added.stdout.trim()),
      'another agent': await shutdown([agentId], await other.credential),
      'a join token': await shutdown([agentId], await masterJoinToken(master)),
    };
    for (const [who, result] of Object.entries(attempts)) {
      expect(result.code, who).toBe(2);
      expect(result.stderr, who).toMatch(/GALAXY_E_PERMISSION_DENIED/);
    }
    // A user reaches no AgentGateway call unless an admin; agents' tokens are checked by the handler.
    expect(attempts['a user'].stderr).toContain('user mallory may not call galaxy.v1.AgentGateway');
    for (const who of ['another agent', 'a join token'] as const)
      expect(attempts[who].stderr, who).toContain(
        `only an admin or agent ${agentId}'s own credential may shut it down`,
      );
    // Nothing changed: connected, the same processes, the task running, its checkpoint kept.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await connected()).toBe(true);
    expect(containerPids()).toEqual(pids);
    expect((await op.listTasks({ frameworkId: '' }).then((r) => r.tasks)).find((t) => t.taskId === TASK)?.state).toBe(
      TaskState.TASK_RUNNING,
    );
    expect(checkpoints()).toHaveLength(1);
    expect(
      fw.events.items.some((e) => statusOf(e)?.taskId === TASK && statusOf(e)?.state === TaskState.TASK_KILLED),
    ).toBe(false);
  });

  it('a stop signal is not a shutdown: SIGTERM leaves the container, and the agent again re-attaches to it', async () => {
    const pids = containerPids();
    expect(await agent.stop('SIGTERM', 15_000)).toBe(0);
    expect(containerPids()).toEqual(pids);
    expect(checkpoints()).toHaveLength(1);
    // Started again: the kept credential wins over the (spent) join token.
    agent = startAgent(join(dir, 'agent.join'));
    await eventually(() => connected(), 20_000, 'the agent back');
    expect(containerPids()).toEqual(pids);
    expect((await op.listTasks({ frameworkId: '' }).then((r) => r.tasks)).find((t) => t.taskId === TASK)?.state).toBe(
      TaskState.TASK_RUNNING,
    );
  });

  it("with the agent's own credential: the task is killed, nothing is left, the agent exits and is removed", async () => {
    const result = await shutdown(['--work-dir', agentDir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`agent ${agentId} is shutting down: it kills its 1 task(s) and exits`);
    await fw.events.waitFor(
      (e) => statusOf(e)?.taskId === TASK && statusOf(e)?.state === TaskState.TASK_KILLED,
      15_000,
      'the task killed',
    );
    expect(await exitWithin(agent, 20_000)).toBe(0);
    expect(containerPids()).toEqual([]);
    expect(checkpoints()).toEqual([]);
    expect(detectCgroupDriver().exists('pids', cgroupRoot)).toBe(false);
    await eventually(
      async () => !(await op.listAgents({}).then((r) => r.agents)).some((a) => a.info?.id === agentId),
      10_000,
      'the agent removed',
    );
  });
});
