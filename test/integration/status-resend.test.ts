/**
 * An agent's resend of the update a task is at (its acknowledgement not back yet) is applied at
 * the master once: one task event, one call of the statusUpdate hook, whatever the resends.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startMaster, type Master } from '../../master/master.js';
import { StatusSource, TaskState, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import { rawAgent, rawFramework } from '../helpers/raw-clients.js';

let master: Master;
const open: { close(): void }[] = [];

beforeEach(async () => {
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100, statusRetryMs: 200, offerTimeoutMs: 0 },
  });
});

afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await master.stop();
});

it('applies a resent update once, never takes a task back to an earlier step, and applies a new update', async () => {
  const agent = rawAgent(master.address, {});
  open.push(agent);
  const agentId = await agent.registered;
  const fw = rawFramework(master.address, { name: 'resend' });
  open.push(fw);
  const frameworkId = await fw.frameworkId;
  const offers = await fw.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'OFFERS');
  const offer = offers.event?.$case === 'offers' ? offers.event.offers.offers[0] : undefined;
  if (!offer) throw new Error('empty OFFERS event');
  await fw.call({
    call: {
      $case: 'accept',
      accept: {
        offerIds: [offer.id],
        operations: [
          {
            operation: {
              $case: 'launch',
              launch: {
                taskInfos: [
                  {
                    taskId: 't1',
                    name: 't1',
                    agentId: '',
                    resources: { cpus: 500, mem: 64 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
                    command: { shell: 'sleep 60', argv: [], env: {}, user: '' },
                    labels: [],
                    killGraceS: 1,
                    volumes: [],
                  },
                ],
              },
            },
          },
        ],
      },
    },
  });
  await agent.received.waitFor((m) => m.message?.$case === 'runTask');
  const applied: TaskStatus[] = [];
  master.hooks.statusUpdate.tap('status-resend-test', (status) => {
    if (status.taskId === 't1') applied.push(status);
  });
  const status = (state: TaskState, uuid: string): TaskStatus => ({
    taskId: 't1',
    frameworkId,
    agentId,
    state,
    message: '',
    reason: '',
    source: StatusSource.SOURCE_AGENT,
    timestamp: 0,
    uuid,
  });
  const send = (state: TaskState, uuid: string): void => {
    agent.send({ message: { $case: 'statusUpdate', statusUpdate: { status: status(state, uuid) } } });
  };
  send(TaskState.TASK_STARTING, 'u-start');
  send(TaskState.TASK_RUNNING, 'u-run');
  // The agent resends what is not acknowledged yet, in order: STARTING must not take it back.
  for (let i = 0; i < 2; i++) {
    send(TaskState.TASK_STARTING, 'u-start');
    send(TaskState.TASK_RUNNING, 'u-run');
  }
  send(TaskState.TASK_FINISHED, 'u-end');
  send(TaskState.TASK_FINISHED, 'u-end');
  // An update of a task the master never placed is refused and acknowledged at once: once that
  // acknowledgement is back, every update sent before it has been handled (one stream, in order).
  agent.send({
    message: {
      $case: 'statusUpdate',
      statusUpdate: { status: { ...status(TaskState.TASK_RUNNING, 'u-x'), taskId: 'tx' } },
    },
  });
  await agent.received.waitFor((m) => m.message?.$case === 'ack' && m.message.ack.uuid === 'u-x', 5_000, 'ack of tx');
  expect(applied.map((s) => `${TaskState[s.state]}/${s.uuid}`)).toEqual([
    'TASK_STARTING/u-start',
    'TASK_RUNNING/u-run',
    'TASK_FINISHED/u-end',
  ]);
});
