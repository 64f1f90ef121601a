/**
 * A real master taking an agent's batched status updates (`statusUpdates`, agent/status-outbox.ts)
 * over real gRPC: each update of a batch is handled as if it came alone, in the batch's order,
 * and a batch over the bound is refused whole with a clear error, applying none of it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runRequests } from '../../agent/master-messages.js';
import { startMaster, type Master } from '../../master/master.js';
import { MAX_STATUS_UPDATES_PER_MESSAGE } from '../../core/status-batch.js';
import {
  StatusSource,
  TaskState,
  type Offer,
  type TaskInfo,
  type TaskStatus,
} from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { ackedUuids, rawAgent, rawFramework, type RawAgent, type RawFramework } from '../helpers/raw-clients.js';
import { eventually } from '../helpers/async-queue.js';

let master: Master;
const open: { close(): void }[] = [];

beforeEach(async () => {
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100, offerTimeoutMs: 0 },
  });
});

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await master.stop();
});

function task(id: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 100, mem: 16 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'true', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}

/** An agent and a framework whose tasks `ids` the master placed on it. */
async function launched(
  ids: string[],
): Promise<{ a: RawAgent; fw: RawFramework; agentId: string; frameworkId: string }> {
  const a = rawAgent(master.address, {});
  open.push(a);
  const agentId = await a.registered;
  const fw = rawFramework(master.address, { name: 'f' });
  open.push(fw);
  const frameworkId = await fw.frameworkId;
  const event = await fw.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'OFFERS');
  const offer: Offer | undefined = event.event?.$case === 'offers' ? event.event.offers.offers[0] : undefined;
  if (!offer) throw new Error('empty OFFERS event');
  await fw.call({
    call: {
      $case: 'accept',
      accept: {
        offerIds: [offer.id],
        operations: [{ operation: { $case: 'launch', launch: { taskInfos: ids.map(task) } } }],
      },
    },
  });
  const last = ids.at(-1);
  await a.received.waitFor((m) => runRequests(m).some((r) => r.task?.taskId === last));
  return { a, fw, agentId, frameworkId };
}

function status(frameworkId: string, agentId: string, taskId: string, state: TaskState, uuid: string): TaskStatus {
  return {
    taskId,
    frameworkId,
    agentId,
    state,
    message: '',
    reason: '',
    source: StatusSource.SOURCE_AGENT,
    timestamp: 0,
    uuid,
    ...(state === TaskState.TASK_FINISHED ? { exitCode: 0 } : {}),
  };
}

const updates = (fw: RawFramework): TaskStatus[] =>
  fw.events.items.flatMap((e: Event) =>
    e.event?.$case === 'update' && e.event.update.status ? [e.event.update.status] : [],
  );

describe('batched status updates', () => {
  it('handles each update of a batch in order, as if it came alone, and acknowledges each', async () => {
    const { a, fw, agentId, frameworkId } = await launched(['t1', 't2']);
    const batch = [
      status(frameworkId, agentId, 't1', TaskState.TASK_RUNNING, 'u-1'),
      status(frameworkId, agentId, 't2', TaskState.TASK_RUNNING, 'u-2'),
      status(frameworkId, agentId, 't1', TaskState.TASK_FINISHED, 'u-3'),
    ];
    a.send({ message: { $case: 'statusUpdates', statusUpdates: { statuses: batch } } });
    await eventually(() => updates(fw).length >= 3, 10_000, 'three updates at the framework');
    expect(updates(fw).map((s) => s.uuid)).toEqual(['u-1', 'u-2', 'u-3']);
    // The framework acknowledges them; the master tells the agent of each.
    await fw.call({
      call: {
        $case: 'acknowledgeMany',
        acknowledgeMany: { acknowledgements: batch.map((s) => ({ agentId, taskId: s.taskId, uuid: s.uuid })) },
      },
    });
    await eventually(
      () => a.received.items.flatMap(ackedUuids).length >= 3,
      10_000,
      'the three acknowledgements at the agent',
    );
    expect(a.received.items.flatMap(ackedUuids).sort()).toEqual(['u-1', 'u-2', 'u-3']);
  });

  it('refuses a batch over the bound whole, with a clear error, and applies none of it', async () => {
    const { a, fw, agentId, frameworkId } = await launched(['t1']);
    const tooMany = Array.from({ length: MAX_STATUS_UPDATES_PER_MESSAGE + 1 }, (_, i) =>
      status(frameworkId, agentId, 't1', TaskState.TASK_RUNNING, `u-${i}`),
    );
    a.send({ message: { $case: 'statusUpdates', statusUpdates: { statuses: tooMany } } });
    const refusal = await a.received.waitFor((m) => m.message?.$case === 'error', 10_000, 'the refusal');
    expect(refusal.message?.$case === 'error' && refusal.message.error.code).toBe('GALAXY_E_TOO_LARGE');
    expect(refusal.message?.$case === 'error' && refusal.message.error.message).toContain(
      `at most ${MAX_STATUS_UPDATES_PER_MESSAGE}`,
    );
    // Nothing of it reached the framework, and the task is still where the launch left it.
    await new Promise((r) => setTimeout(r, 300));
    expect(updates(fw)).toEqual([]);
    expect(master.view.tasks(frameworkId).find((t) => t.taskId === 't1')?.state).toBe(TaskState.TASK_STAGING);
  });
});
