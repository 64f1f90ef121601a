/**
 * A real master process and a real agent process, driven by a framework over gRPC on loopback:
 * tasks run, are killed, and are reconciled after the framework reconnects; a lost agent's tasks
 * are reported LOST. The master authenticates (no --coordinator: users and agents in its work
 * directory); the agent joins with a join token and the framework and CLI use the admin token.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskState, type Offer, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import {
  galaxy,
  killWithEnv,
  processesWithEnv,
  startMasterProcess,
  stopAll,
  type GalaxyProcess,
  type MasterProcess,
} from '../helpers/processes.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { masterJoinToken, writeJoinToken } from '../helpers/identity.js';

let workDir = '';
let master: MasterProcess;
const frameworks: RawFramework[] = [];

function sleeper(id: string, seconds: number): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 100, mem: 32 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    command: { shell: `echo started ${id}; exec sleep ${seconds}`, argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}
function statusOf(e: Event): TaskStatus | undefined {
  return e.event?.$case === 'update' ? e.event.update.status : undefined;
}
/** Task processes this test's agents started (they carry the sandbox root in their environment). */
function leftovers(): number[] {
  return processesWithEnv(`GALAXY_SANDBOX=${workDir}`);
}
async function subscribe(info: Parameters<typeof rawFramework>[1]): Promise<RawFramework> {
  const fw = rawFramework(master.address, info, true, master.adminToken);
  frameworks.push(fw);
  await fw.frameworkId;
  return fw;
}
async function nextOffer(fw: RawFramework): Promise<Offer> {
  fw.events.clear();
  await fw.call({ call: { $case: 'revive', revive: { roles: [] } } });
  const e = await fw.events.waitFor((ev) => ev.event?.$case === 'offers', 10_000, 'an offer');
  const offer = e.event?.$case === 'offers' ? e.event.offers.offers[0] : undefined;
  if (!offer) throw new Error('no offer');
  return offer;
}
async function launch(fw: RawFramework, tasks: TaskInfo[]): Promise<void> {
  const offer = await nextOffer(fw);
  await fw.call({
    call: {
      $case: 'accept',
      accept: { offerIds: [offer.id], operations: [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }] },
    },
  });
}
async function waitState(fw: RawFramework, taskId: string, state: TaskState): Promise<TaskStatus> {
  const e = await fw.events.waitFor(
    (ev) => statusOf(ev)?.taskId === taskId && statusOf(ev)?.state === state,
    15_000,
    `${taskId} ${TaskState[state]}`,
  );
  const status = statusOf(e);
  if (!status) throw new Error('unreachable');
  if (status.uuid)
    await fw.call({
      call: { $case: 'acknowledge', acknowledge: { agentId: status.agentId, taskId, uuid: status.uuid } },
    });
  return status;
}

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-e2e-'));
  master = await startMasterProcess(join(workDir, 'master'), [
    '--agent-reregister-timeout',
    '1',
    '--agent-ping-interval',
    '0.5',
  ]);
});

afterEach(async () => {
  for (const fw of frameworks.splice(0)) fw.close();
  await stopAll();
  const left = leftovers();
  killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  await rm(workDir, { recursive: true, force: true });
  expect(left, 'task processes left behind by the test').toEqual([]);
});

async function startAgent(): Promise<GalaxyProcess> {
  const joinToken = await writeJoinToken(join(workDir, 'join.token'), await masterJoinToken(master));
  return galaxy([
    'agent',
    '--join-token-file',
    joinToken,
    '--master',
    master.address,
    '--work-dir',
    join(workDir, 'agent'),
    '--resources',
    'cpus:2;mem:2GiB;disk:1GiB',
    '--attributes',
    'rack:r1',
  ]);
}

describe('master + agent + framework, as separate processes', () => {
  it('runs tasks to completion, kills on request, and reconciles after the framework reconnects', async () => {
    await startAgent();
    const fw = await subscribe({ name: 'e2e', failoverTimeoutS: 60 });
    const frameworkId = await fw.frameworkId;
    await launch(fw, [sleeper('quick', 0), sleeper('long-a', 60), sleeper('long-b', 60)]);

    const quick = await waitState(fw, 'quick', TaskState.TASK_FINISHED);
    expect(quick.exitCode).toBe(0);
    await waitState(fw, 'long-a', TaskState.TASK_RUNNING);
    await waitState(fw, 'long-b', TaskState.TASK_RUNNING);

    await fw.call({ call: { $case: 'kill', kill: { taskId: 'long-a', agentId: '' } } });
    await waitState(fw, 'long-a', TaskState.TASK_KILLED);

    // The framework goes away and comes back with its id: its task survived, and reconciliation says so.
    fw.close();
    const again = await subscribe({ id: frameworkId, name: 'e2e', failoverTimeoutS: 60 });
    await again.call({ call: { $case: 'reconcile', reconcile: { tasks: [] } } });
    const reconciled = await again.events.waitFor(
      (e) => statusOf(e)?.taskId === 'long-b',
      10_000,
      'reconciliation of long-b',
    );
    expect(statusOf(reconciled)?.state).toBe(TaskState.TASK_RUNNING);
    expect(statusOf(reconciled)?.reason).toBe('reconciliation');
    await again.call({ call: { $case: 'reconcile', reconcile: { tasks: [{ taskId: 'quick', agentId: '' }] } } });
    const done = await again.events.waitFor((e) => statusOf(e)?.taskId === 'quick', 10_000, 'reconciliation of quick');
    expect(statusOf(done)?.state).toBe(TaskState.TASK_FINISHED);

    // The task's output is in its sandbox.
    const list = galaxy(['tasks', '--master', master.address, '-o', 'json'], { GALAXY_TOKEN: master.adminToken });
    expect(await list.exited).toBe(0);
    const tasks = JSON.parse(list.lines.items.join('\n')) as { taskId: string }[];
    expect(tasks.map((t) => t.taskId).sort()).toEqual(['long-a', 'long-b', 'quick']);

    // Teardown kills what is left.
    await again.call({ call: { $case: 'teardown', teardown: {} } });
    await eventually(() => leftovers().length === 0, 10_000, 'teardown to kill long-b');
  });

  it('reports LOST when the agent dies, and lists agents through the CLI', async () => {
    const agent = await startAgent();
    const fw = await subscribe({ name: 'e2e-lost' });
    await launch(fw, [sleeper('victim', 60)]);
    await waitState(fw, 'victim', TaskState.TASK_RUNNING);

    const agents = galaxy(['agents', '--master', master.address, '-o', 'json'], { GALAXY_TOKEN: master.adminToken });
    expect(await agents.exited).toBe(0);
    const listed = JSON.parse(agents.lines.items.join('\n')) as {
      info: { attributes: { key: string; value: string }[] };
      tasks: number;
    }[];
    expect(listed).toHaveLength(1);
    expect(listed[0]?.tasks).toBe(1);
    expect(listed[0]?.info.attributes).toEqual([{ key: 'rack', value: 'r1' }]);

    await agent.stop('SIGKILL');
    const lost = await waitState(fw, 'victim', TaskState.TASK_UNREACHABLE);
    expect(lost.reason).toBe('agent-reregistration-timeout');
    // The agent was killed with -9 and cannot recover its tasks yet (container recovery comes
    // with the containerizer): the orphan is still running, and is ours to clean up.
    expect(leftovers()).toHaveLength(1);
    killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  });

  it('writes task output to the sandbox', async () => {
    await startAgent();
    const fw = await subscribe({ name: 'e2e-out' });
    await launch(fw, [sleeper('talker', 0)]);
    await waitState(fw, 'talker', TaskState.TASK_FINISHED);
    const files = execFileSync('find', [join(workDir, 'agent'), '-name', 'stdout', '-path', '*talker*'], {
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    expect(files).toHaveLength(1);
    expect(await readFile(files[0] ?? '', 'utf8')).toBe('started talker\n');
  });
});
