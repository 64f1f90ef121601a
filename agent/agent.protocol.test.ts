/**
 * The agent's side of the AgentGateway protocol, against a scripted fake master on a real gRPC
 * server: registration, task launches and kills, at-least-once status updates, reconnection.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskState, type FrameworkInfo, type TaskInfo, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { eventually } from '../test/helpers/async-queue.js';
import { killWithEnv, processesWithEnv } from '../test/helpers/processes.js';
import { startAgent, type Agent, type AgentOptions } from './agent.js';
import { startFakeAgentMaster, type FakeAgentMaster, type FakeAgentMasterOptions } from './testing/fake-master.js';

let workDir = '';
let master: FakeAgentMaster | undefined;
let agent: Agent | undefined;

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-agent-proto-'));
});

afterEach(async () => {
  await agent?.stop();
  await master?.stop();
  agent = master = undefined;
  const left = processesWithEnv(`GALAXY_SANDBOX=${workDir}`);
  killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  await rm(workDir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

async function cluster(
  masterOptions: FakeAgentMasterOptions = {},
  agentOptions: Partial<AgentOptions> = {},
): Promise<{ master: FakeAgentMaster; agent: Agent }> {
  master = await startFakeAgentMaster(masterOptions);
  agent = await startAgent({
    master: master.address,
    workDir,
    resources: 'cpus:2;mem:1GiB;ports:[31000-31099]',
    attributes: 'rack:r1',
    pool: 'batch',
    hostname: 'node-7',
    logLevel: 'silent',
    statusRetry: { initialMs: 100, maxMs: 200 },
    ...agentOptions,
  });
  // Messages pushed before the stream is open would go nowhere.
  if (!masterOptions.onRegister) await eventually(() => agent?.connected, 5000, 'the agent to register');
  return { master, agent };
}

function framework(id: string): FrameworkInfo {
  return { id, name: id, role: '*', user: '', failoverTimeoutS: 0, hostname: '', roles: [] };
}

function task(taskId: string, shell: string): TaskInfo {
  return {
    taskId,
    name: taskId,
    agentId: 'agent-1',
    resources: { cpus: 100, mem: 0, disk: 0, gpus: 0, ports: [] },
    command: { shell, argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}

function runTask(m: FakeAgentMaster, info: TaskInfo, fw = framework('fw-1')): void {
  m.send({ $case: 'runTask', runTask: { framework: fw, task: info } });
}

const of = (m: FakeAgentMaster, taskId: string): TaskStatus[] => m.updates.items.filter((s) => s.taskId === taskId);
const statesOf = (m: FakeAgentMaster, taskId: string): TaskState[] => of(m, taskId).map((s) => s.state);
const waitState = (m: FakeAgentMaster, taskId: string, state: TaskState): Promise<TaskStatus> =>
  m.updates.waitFor((s) => s.taskId === taskId && s.state === state, 5000, `${taskId} in ${TaskState[state]}`);

describe('agent ↔ master protocol', () => {
  it('registers its machine without an id first, keeps the id it is given, and answers pings', async () => {
    const { master, agent } = await cluster();
    const registration = await master.registrations.waitFor(() => true, 5000, 'a registration');
    expect(registration.agentInfo).toMatchObject({
      id: '',
      hostname: 'node-7',
      pool: 'batch',
      attributes: [{ key: 'rack', value: 'r1' }],
      total: { cpus: 2000, mem: 1024 ** 3, ports: [{ begin: 31000, end: 31099 }] },
    });
    expect(registration.tasks).toEqual([]);
    await eventually(() => agent.agentId === 'agent-1', 5000, 'the agent id');
    master.send({ $case: 'ping', ping: { seq: 42 } });
    await master.pongs.waitFor((seq) => seq === 42, 5000, 'pong 42');
  });

  it('pipelines updates, resends the unacknowledged ones in order, and forgets the task once all are acked', async () => {
    const { master, agent } = await cluster();
    master.autoAck = false;
    runTask(master, task('quick', 'exit 0'));
    const sequence = [TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_FINISHED];
    const seen = (state: TaskState) => statesOf(master, 'quick').filter((s) => s === state).length;
    await eventually(() => sequence.every((state) => seen(state) >= 2), 10_000, 'a resend of every update');
    // Each is sent once it happens, and each round of resends keeps the order.
    expect(sequence.map((state) => statesOf(master, 'quick').indexOf(state))).toEqual(
      [...sequence.map((state) => statesOf(master, 'quick').indexOf(state))].sort((a, b) => a - b),
    );
    for (const state of sequence) {
      const copies = of(master, 'quick').filter((s) => s.state === state);
      expect(new Set(copies.map((s) => s.uuid)).size).toBe(1);
    }
    // A task's resends leave together: one statusUpdates message (agent/status-outbox.ts).
    expect(master.statusMessages.some((updates) => updates >= 2)).toBe(true);
    // RUNNING acknowledged: only STARTING and FINISHED are resent, still in order.
    master.ack(of(master, 'quick').find((s) => s.state === TaskState.TASK_RUNNING) as TaskStatus);
    const before = of(master, 'quick').length;
    await eventually(() => of(master, 'quick').length >= before + 2, 10_000, 'the next resend');
    expect(statesOf(master, 'quick').slice(before, before + 2)).toEqual([
      TaskState.TASK_STARTING,
      TaskState.TASK_FINISHED,
    ]);
    expect(agent.tasks.size).toBe(1);
    master.ack(of(master, 'quick').find((s) => s.state === TaskState.TASK_STARTING) as TaskStatus);
    master.ack(of(master, 'quick').find((s) => s.state === TaskState.TASK_FINISHED) as TaskStatus);
    await eventually(() => agent.tasks.size === 0, 5000, 'the task forgotten');
    const sent = master.updates.items.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(master.updates.items.length).toBe(sent);
    expect(of(master, 'quick').at(-1)?.exitCode).toBe(0);
  });

  it('answers a RunTask for a task it already runs with TASK_ERROR and starts no second process', async () => {
    const { master } = await cluster();
    runTask(master, task('once', 'exec sleep 30'));
    await waitState(master, 'once', TaskState.TASK_RUNNING);
    runTask(master, task('once', 'exec sleep 30'));
    const refused = await waitState(master, 'once', TaskState.TASK_ERROR);
    expect(refused.reason).toBe('duplicate-task');
    expect(refused.message).toContain('GALAXY_E_TASK_DUPLICATE');
    expect(
      processesWithEnv('GALAXY_TASK_ID=once').filter((pid) =>
        processesWithEnv(`GALAXY_SANDBOX=${workDir}`).includes(pid),
      ),
    ).toHaveLength(1);
  });

  it('answers malformed RunTasks with TASK_ERROR naming the field, and keeps running', async () => {
    const { master } = await cluster();
    runTask(master, { ...task('nocmd', ''), command: undefined });
    runTask(master, { ...task('grace', 'true'), killGraceS: Number.POSITIVE_INFINITY });
    runTask(master, task('../escape', 'true'));
    runTask(master, task('badfw', 'true'), framework('a/b'));
    for (const [id, text] of [
      ['nocmd', 'has no command'],
      ['grace', 'kill_grace_s'],
      ['../escape', 'task id'],
      ['badfw', 'framework id'],
    ] as const) {
      const error = await waitState(master, id, TaskState.TASK_ERROR);
      expect(error.reason, id).toBe('invalid-task');
      expect(error.message, id).toContain('GALAXY_E_TASK_INVALID');
      expect(error.message, id).toContain(text);
    }
    master.send({ $case: 'runTask', runTask: { framework: undefined, task: undefined } });
    master.send({ $case: 'ping', ping: { seq: 7 } });
    await master.pongs.waitFor((seq) => seq === 7, 5000, 'a pong after bad input');
  });

  it('kills a task on KillTask, and every task of a framework on ShutdownFramework', async () => {
    const { master } = await cluster();
    runTask(master, task('a', 'exec sleep 30'), framework('fw-a'));
    runTask(master, task('b', 'exec sleep 30'), framework('fw-a'));
    runTask(master, task('c', 'exec sleep 30'), framework('fw-c'));
    runTask(master, task('d', 'exec sleep 30'), framework('fw-c'));
    for (const id of ['a', 'b', 'c', 'd']) await waitState(master, id, TaskState.TASK_RUNNING);
    master.send({ $case: 'killTask', killTask: { frameworkId: 'fw-c', taskId: 'd' } });
    await waitState(master, 'd', TaskState.TASK_KILLED);
    master.send({ $case: 'shutdownFramework', shutdownFramework: { frameworkId: 'fw-a' } });
    await waitState(master, 'a', TaskState.TASK_KILLED);
    await waitState(master, 'b', TaskState.TASK_KILLED);
    expect(statesOf(master, 'c').at(-1)).toBe(TaskState.TASK_RUNNING);
    master.send({ $case: 'killTask', killTask: { frameworkId: 'fw-c', taskId: 'ghost' } });
    expect((await waitState(master, 'ghost', TaskState.TASK_LOST)).reason).toBe('task-unknown-to-agent');
  });

  it('re-registers with the same id, its live tasks and their frameworks when the stream closes', async () => {
    const { master, agent } = await cluster();
    runTask(master, task('survivor', 'exec sleep 30'), framework('fw-s'));
    await waitState(master, 'survivor', TaskState.TASK_RUNNING);
    master.closeStreams();
    const again = await master.registrations.waitFor((r) => r.agentInfo?.id === 'agent-1', 5000, 're-registration');
    expect(again.tasks.map((t) => [t.taskId, t.frameworkId, t.state])).toEqual([
      ['survivor', 'fw-s', TaskState.TASK_RUNNING],
    ]);
    expect(again.frameworks.map((f) => f.id)).toEqual(['fw-s']);
    await eventually(() => agent.connected, 5000, 'connected again');
    expect(agent.agentId).toBe('agent-1');
  });

  it('retries a refused registration later, and re-registers with a master that comes back', async () => {
    let refusals = 2;
    const { master, agent } = await cluster({
      onRegister: () =>
        refusals-- > 0
          ? { $case: 'error', error: { code: 'GALAXY_E_AGENT_DUPLICATE', message: 'agent-1 is already connected' } }
          : undefined,
    });
    await eventually(() => agent.connected, 10_000, 'registration after two refusals');
    expect(master.registrations.items.length).toBe(3);
    await master.stop();
    await eventually(() => !agent.connected, 5000, 'the link to notice');
    const back = await startFakeAgentMaster({ port: master.port });
    try {
      await back.registrations.waitFor(
        (r) => r.agentInfo?.id === 'agent-1',
        10_000,
        'registration with the new master',
      );
      await eventually(() => agent.connected, 5000, 'connected to the new master');
    } finally {
      await back.stop();
    }
  });
});
