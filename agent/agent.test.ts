/**
 * The agent with a real master in this process, over loopback gRPC, running real processes.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startMaster, type Master } from '../master/master.js';
import { TaskState, type TaskInfo, type TaskStatus } from '../proto/gen/galaxy/v1/common.js';
import { eventually } from '../test/helpers/async-queue.js';
import { killWithEnv, processesWithEnv } from '../test/helpers/processes.js';
import { rawFramework, type RawFramework } from '../test/helpers/raw-clients.js';
import { startAgent, type Agent } from './agent.js';
import { statusOf } from '../test/helpers/framework-events.js';

let workDir = '';
let master: Master;
let agent: Agent;
const frameworks: RawFramework[] = [];

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-agent-'));
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 50 },
  });
  agent = await startAgent({
    master: master.address,
    workDir,
    resources: 'cpus:2;mem:1GiB',
    logLevel: 'silent',
    statusRetry: { initialMs: 100, maxMs: 200 },
  });
  await eventually(() => agent.connected, 5000, 'the agent to register');
});

afterEach(async () => {
  for (const fw of frameworks.splice(0)) fw.close();
  await agent.stop();
  await master.stop();
  const left = processesWithEnv(`GALAXY_SANDBOX=${workDir}`);
  killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  await rm(workDir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

function task(taskId: string, shell: string): TaskInfo {
  return {
    taskId,
    name: taskId,
    agentId: '',
    resources: { cpus: 100, mem: 16 * 1024 ** 2, disk: 0, gpus: 0, ports: [{ begin: 31000, end: 31001 }] },
    command: { shell, argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}

async function launch(tasks: TaskInfo[], autoAck = true): Promise<RawFramework> {
  const fw = rawFramework(master.address, { name: 'agent-test' }, autoAck);
  frameworks.push(fw);
  const e = await fw.events.waitFor((ev) => ev.event?.$case === 'offers', 5000, 'an offer');
  const offer = e.event?.$case === 'offers' ? e.event.offers.offers[0] : undefined;
  await fw.call({
    call: {
      $case: 'accept',
      accept: {
        offerIds: [offer?.id ?? ''],
        operations: [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }],
      },
    },
  });
  return fw;
}
/** A task's updates as the framework received them, resends included. */
function received(fw: RawFramework, taskId: string): TaskStatus[] {
  return fw.events.items.map(statusOf).filter((s): s is TaskStatus => s?.taskId === taskId);
}
/**
 * The states of a task's updates, each update once: the agent resends an update until it is
 * acknowledged, and on a loaded machine a resend may come before the acknowledgement is back.
 */
function states(fw: RawFramework, taskId: string): TaskState[] {
  return [...new Map(received(fw, taskId).map((s) => [s.uuid, s.state])).values()];
}

describe('agent', () => {
  it('reports STARTING, RUNNING, then FAILED with the exit code; gives ports and ids in the environment', async () => {
    const fw = await launch([
      task('env', 'test "$PORT0,$PORT1" = 31000,31001 && test -n "$GALAXY_AGENT_ID" && exit 3'),
    ]);
    const failed = await fw.events.waitFor((e) => statusOf(e)?.state === TaskState.TASK_FAILED, 5000, 'FAILED');
    expect(statusOf(failed)?.exitCode).toBe(3);
    expect(statusOf(failed)?.reason).toBe('non-zero-exit');
    expect(states(fw, 'env')).toEqual([TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_FAILED]);
  });

  it('sends each update without waiting for the previous ack, and resends the end until it is acknowledged', async () => {
    const fw = await launch([task('quiet', 'exit 0')], false);
    const seen = (state: TaskState) => received(fw, 'quiet').filter((s) => s.state === state).length;
    await eventually(() => seen(TaskState.TASK_FINISHED) >= 2, 10_000, 'a resend of the end');
    // Nothing was acknowledged, yet RUNNING and FINISHED came: each is sent once it happens
    // (pipelined). Until the end, a resend repeats the unacknowledged updates in order (on a loaded
    // machine the task may end after a first resend), always copies of the same three updates; the
    // master drops resends of the earlier ones once it has the end, so the task never looks alive again.
    expect(states(fw, 'quiet')).toEqual([TaskState.TASK_STARTING, TaskState.TASK_RUNNING, TaskState.TASK_FINISHED]);
    const all = received(fw, 'quiet').map((s) => s.state);
    expect(all.slice(all.indexOf(TaskState.TASK_FINISHED)).every((s) => s === TaskState.TASK_FINISHED)).toBe(true);
    const end = received(fw, 'quiet').find((s) => s.state === TaskState.TASK_FINISHED);
    await fw.call({
      call: {
        $case: 'acknowledge',
        acknowledge: { agentId: end?.agentId ?? '', taskId: 'quiet', uuid: end?.uuid ?? '' },
      },
    });
    // The acknowledgement reached the agent: it released the task and holds nothing to resend.
    await eventually(
      () => ![...agent.tasks.values()].some((r) => r.info.taskId === 'quiet'),
      10_000,
      'the agent to release the acknowledged task',
    );
    await new Promise((r) => setTimeout(r, 1500)); // a resend written before the release may still be on its way
    const count = received(fw, 'quiet').length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(received(fw, 'quiet').length, 'no resend once acknowledged').toBe(count);
  });

  it('answers a second RunTask for a running task with an error, not a second process', async () => {
    const fw = await launch([task('once', 'exec sleep 30')]);
    await fw.events.waitFor((e) => statusOf(e)?.state === TaskState.TASK_RUNNING, 5000, 'RUNNING');
    const info = task('once', 'exec sleep 30');
    const frameworkId = await fw.frameworkId;
    master.ctx.agents.get(agent.agentId)?.connection?.send({
      message: {
        $case: 'runTask',
        runTask: {
          framework: {
            id: frameworkId,
            name: 'agent-test',
            role: '*',
            user: '',
            failoverTimeoutS: 0,
            hostname: '',
            roles: [],
          },
          task: info,
        },
      },
    });
    const refused = await fw.events.waitFor((e) => statusOf(e)?.state === TaskState.TASK_ERROR, 5000, 'TASK_ERROR');
    expect(statusOf(refused)?.reason).toBe('duplicate-task');
    expect(
      processesWithEnv(`GALAXY_TASK_ID=once`).filter((pid) =>
        processesWithEnv(`GALAXY_SANDBOX=${workDir}`).includes(pid),
      ),
    ).toHaveLength(1);
  });

  it("deletes a finished task's sandbox after the GC delay, through the gc directory", async () => {
    await agent.stop();
    agent = await startAgent({
      master: master.address,
      workDir,
      resources: 'cpus:2;mem:1GiB',
      logLevel: 'silent',
      sandboxGcDelayMs: 300,
    });
    await eventually(() => agent.connected, 5000, 'the agent to register again');
    const fw = await launch([task('brief', 'echo hi')]);
    await fw.events.waitFor((e) => statusOf(e)?.state === TaskState.TASK_FINISHED, 5000, 'FINISHED');
    const root = join(workDir, 'sandboxes', await fw.frameworkId);
    const [sandbox] = await readdir(root);
    expect(sandbox).toMatch(/^brief-/);
    await eventually(async () => (await readdir(root)).length === 0, 5000, 'the sandbox collected');
    await eventually(async () => (await readdir(join(workDir, 'gc'))).length === 0, 5000, 'the gc directory emptied');
  });

  it('re-registers with the same id and its live tasks when the master comes back', async () => {
    const fw = await launch([task('survivor', 'exec sleep 30')]);
    await fw.events.waitFor((e) => statusOf(e)?.state === TaskState.TASK_RUNNING, 5000, 'RUNNING');
    const id = agent.agentId;
    const address = master.address;
    fw.close();
    await master.stop();
    master = await startMaster({ listen: address, insecureNoAuth: true, logLevel: 'silent' });
    await eventually(() => master.view.agents().some((a) => a.info?.id === id && a.active), 10_000, 'the agent back');
    const survivor = master.view.tasks('').find((t) => t.taskId === 'survivor');
    expect(survivor?.agentId).toBe(id);
    expect(survivor?.state).toBe(TaskState.TASK_RUNNING);
  });
});
