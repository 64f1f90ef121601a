/**
 * Simulated agents speak the real agent protocol to a real master (`galaxy master` processes on a
 * local coordinator, over gRPC): they join with a join token and keep the credential they are
 * given, play tasks as their commands say (finish, fail with a code, run until killed, refuse what
 * they cannot play) with every update acknowledged, and re-register with their own credentials
 * and their tasks on the standby that takes over when the leader is killed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentJoinToken, bootstrapIdentity, localCoordinatorUrl, type LocalIdentity } from '../cli/local-identity.js';
import { createLogger } from '../core/logger.js';
import { isTerminal } from '../core/task-state.js';
import { GrpcSchedulerDriver, type SchedulerDriver } from '../frameworks/sdk/scheduler-driver.js';
import { Limits, TaskState, type Offer, type TaskInfo, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { killAllMasters, startMasterProcess, type MasterProcess } from '../bench/failover/master-process.js';
import { Probe } from '../bench/failover/probe.js';
import { Fleet } from './fleet.js';
import { uniformMachines } from './machines.js';
import { until } from './cell.js';

const AGENTS = 5;

/** The tasks the test launches, by id: their command. */
const TASKS: Record<string, string> = {
  finishes: 'sleep 0.3',
  fails: 'sleep 0.2; exit 3',
  forever: 'sleep infinity',
  killed: 'sleep infinity',
  bogus: 'rm -rf /',
};

function task(taskId: string, agentId: string): TaskInfo {
  return {
    taskId,
    name: taskId,
    agentId,
    resources: { cpus: 100, mem: 16 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
    command: { shell: TASKS[taskId] ?? '', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    limits: Limits.create(),
    volumes: [],
  };
}

describe('simulated agents against a real master', () => {
  let dir = '';
  let identity: LocalIdentity | undefined;
  let leader: MasterProcess | undefined;
  let standby: MasterProcess | undefined;
  let fleet: Fleet | undefined;
  let driver: SchedulerDriver | undefined;
  const updates = new Map<string, TaskStatus[]>();
  let coordinator = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'galaxy-sim-agent-'));
    coordinator = localCoordinatorUrl(dir);
    identity = await bootstrapIdentity(dir, coordinator);
    const joinToken = await agentJoinToken(coordinator, 600_000, AGENTS);
    const flags = ['--allocation-interval', '0.1', '--agent-ping-interval', '1'];
    leader = await startMasterProcess(coordinator, flags);
    const first = leader;
    await until('the first master to lead', () => first.ledAt() !== undefined, 20_000, 50);
    standby = await startMasterProcess(coordinator, flags);
    fleet = new Fleet({
      // The coordinator, not an address: agents follow the leader through a failover.
      master: coordinator,
      token: joinToken,
      machines: uniformMachines(AGENTS, 'cpus:4;mem:4GiB;disk:1GiB'),
      speedup: 1,
      log: createLogger('sim', 'silent'),
    });
    await fleet.start();
  }, 60_000);

  afterAll(async () => {
    await driver?.stop().catch(() => undefined);
    fleet?.stop();
    await killAllMasters();
    await identity?.close();
    await rm(dir, { recursive: true, force: true });
  }, 30_000);

  it('join with a join token and are given their own ids', async () => {
    await until('every agent to register', () => fleet?.connected() === AGENTS, 30_000);
    const ids = fleet?.agents.map((a) => a.agentId) ?? [];
    expect(new Set(ids).size).toBe(AGENTS);
    expect(ids.every((id) => id !== '')).toBe(true);
    expect(fleet?.stats().refused).toBe(0);
  }, 40_000);

  it('play tasks as their commands say, every update acknowledged', async () => {
    let launched = false;
    driver = new GrpcSchedulerDriver({
      master: coordinator,
      framework: { name: 'sim-test', failoverTimeoutS: 60 },
      token: identity?.adminToken,
      logger: createLogger('framework:sim-test', 'silent'),
      scheduler: {
        offers: async (d: SchedulerDriver, offers: Offer[]) => {
          const [offer, ...rest] = offers;
          if (rest.length > 0)
            await d.decline(
              rest.map((o) => o.id),
              { refuseSeconds: 3600 },
            );
          if (!offer) return;
          if (launched) return d.decline([offer.id], { refuseSeconds: 3600 });
          launched = true;
          await d.launch(
            [offer.id],
            Object.keys(TASKS).map((id) => task(id, offer.agentId)),
            { refuseSeconds: 3600 },
          );
        },
        update: (_d, status) => {
          updates.set(status.taskId, [...(updates.get(status.taskId) ?? []), status]);
        },
      },
    });
    await driver.start();
    const last = (id: string): TaskStatus | undefined => updates.get(id)?.at(-1);
    await until(
      'the tasks to finish, fail and run',
      () =>
        last('finishes')?.state === TaskState.TASK_FINISHED &&
        last('fails')?.state === TaskState.TASK_FAILED &&
        last('bogus')?.state === TaskState.TASK_FAILED &&
        last('forever')?.state === TaskState.TASK_RUNNING &&
        last('killed')?.state === TaskState.TASK_RUNNING,
      20_000,
    );
    expect(updates.get('finishes')?.map((s) => s.state)).toContain(TaskState.TASK_RUNNING);
    expect(last('fails')?.exitCode).toBe(3);
    expect(last('bogus')?.message).toContain('the simulator runs only');
    await driver.kill('killed');
    await until('the killed task to end', () => last('killed')?.state === TaskState.TASK_KILLED, 10_000);
    // Acknowledged ends leave the agents: only the two running tasks are still held.
    await until('the ends to be acknowledged', () => fleet?.stats().tasks === 1, 10_000);
    expect(fleet?.stats().running).toBe(1);
  }, 40_000);

  it('re-register with their credentials and tasks on the standby after the leader is killed', async () => {
    const ids = fleet?.agents.map((a) => a.agentId) ?? [];
    const before = fleet?.stats().registrations ?? 0;
    await leader?.kill();
    await until(
      'every agent to re-register',
      () => (fleet?.stats().registrations ?? 0) >= before + AGENTS && fleet?.connected() === AGENTS,
      30_000,
    );
    // Their own ids: a join token (all of whose uses are spent) registers no existing id.
    expect(fleet?.agents.map((a) => a.agentId)).toEqual(ids);
    expect(fleet?.stats().refused).toBe(0);
    const probe = new Probe(standby?.address ?? '', identity?.adminToken);
    try {
      await until(
        'the standby to list every agent active',
        async () => {
          const agents = await probe.agents().catch(() => []);
          return agents.filter((a) => a.active).length === AGENTS;
        },
        10_000,
      );
      const frameworkId = driver?.frameworkId ?? '';
      await until(
        'the running task to be known to the new leader',
        async () => {
          const tasks = await probe.tasks(frameworkId).catch(() => []);
          return tasks.some((t) => t.taskId === 'forever' && t.state === TaskState.TASK_RUNNING);
        },
        10_000,
      );
    } finally {
      probe.close();
    }
    expect(isTerminal(updates.get('forever')?.at(-1)?.state ?? TaskState.TASK_LOST)).toBe(false);
  }, 45_000);
});
