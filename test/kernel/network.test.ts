/**
 * The tcp isolator on the real kernel: a network namespace per container, a send rate held by
 * `tc`, and the task's port reachable on the agent's address.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { startMaster, type Master } from '../../master/master.js';
import { Limits, TaskState, type TaskInfo, type TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import { killWithEnv, processesWithEnv } from '../helpers/processes.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';

let workDir = '';
let master: Master;
let agent: Agent;
let fw: RawFramework;
const used = new Set<string>();

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-net-'));
  master = await startMaster({ listen: '127.0.0.1:0', logLevel: 'silent', timings: { allocationIntervalMs: 50 } });
  agent = await startAgent({
    master: master.address,
    workDir,
    resources: 'cpus:2;mem:1GiB;ports:[39100-39109]',
    isolation: 'cpu,memory,tcp',
    cgroupRoot: `galaxy-net-test-${randomBytes(4).toString('hex')}`,
    logLevel: 'silent',
  });
  await eventually(() => agent.connected, 5000, 'the agent to register');
  fw = rawFramework(master.address, { name: 'net-test' }, true);
  await fw.frameworkId;
});

afterAll(async () => {
  fw.close();
  await agent.stop();
  await master.stop();
  const left = processesWithEnv(`GALAXY_SANDBOX=${workDir}`);
  killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  await rm(workDir, { recursive: true, force: true });
  expect(left).toEqual([]);
});

const statusOf = (e: Event): TaskStatus | undefined =>
  e.event?.$case === 'update' ? e.event.update.status : undefined;

async function launch(
  taskId: string,
  shell: string,
  limits: Partial<Limits>,
  ports: { begin: number; end: number }[] = [],
): Promise<void> {
  const task: TaskInfo = {
    taskId,
    name: taskId,
    agentId: '',
    resources: { cpus: 200, mem: 128 * 1024 ** 2, disk: 0, gpus: 0, ports },
    command: { shell, argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
    limits: Limits.fromPartial(limits),
  };
  await fw.call({ call: { $case: 'revive', revive: { roles: [] } } });
  const offerIds = await eventually(
    () => {
      const ids = fw.events.items
        .flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers.map((o) => o.id) : []))
        .filter((id) => !used.has(id));
      return ids.length > 0 && ids;
    },
    5000,
    'an offer',
  );
  for (const id of offerIds) used.add(id);
  await fw.call({
    call: {
      $case: 'accept',
      accept: { offerIds, operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task] } } }] },
    },
  });
}
async function until(taskId: string, state: TaskState): Promise<TaskStatus> {
  const e = await fw.events.waitFor(
    (ev) => statusOf(ev)?.taskId === taskId && statusOf(ev)?.state === state,
    20_000,
    `${taskId} ${TaskState[state]}`,
  );
  return statusOf(e) as TaskStatus;
}

describe('tcp isolator', () => {
  it('holds a sender to its rate ± 15 %', async () => {
    const bytes = 1_500_000;
    const rate = 8_000_000; // bits per second
    let first = 0;
    let last = 0;
    let received = 0;
    const receiver = createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        if (first === 0) first = performance.now();
        received += chunk.length;
        last = performance.now();
        // Closing tells the sender every byte arrived (queued bytes die with its namespace).
        if (received >= bytes) socket.end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '0.0.0.0', r));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const send = `exec 3<>/dev/tcp/$GALAXY_HOST_IP/${port}; head -c ${bytes} /dev/zero >&3; cat <&3`;
      await launch('sender', `exec bash -c '${send}'`, { netTxBps: rate });
      await until('sender', TaskState.TASK_FINISHED);
      await eventually(() => received >= bytes, 5000, 'every byte');
      const measured = ((received * 8) / (last - first)) * 1000;
      expect(measured).toBeGreaterThan(rate * 0.85);
      expect(measured).toBeLessThan(rate * 1.15);
    } finally {
      receiver.close();
    }
  });

  it("makes the task's port reachable on the agent's address, from its own namespace", async () => {
    const server = `require('http').createServer((q, s) => s.end('hello from ' + process.env.GALAXY_IP)).listen(+process.env.PORT0, process.env.GALAXY_IP)`;
    await launch('web', `exec ${process.execPath} -e "${server}"`, {}, [{ begin: 39105, end: 39105 }]);
    await until('web', TaskState.TASK_RUNNING);
    const body = await eventually(
      () =>
        new Promise<string | undefined>((resolve) => {
          const req = request({ host: '127.0.0.1', port: 39105, path: '/' }, (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => {
              resolve(text);
            });
          });
          req.on('error', () => {
            resolve(undefined);
          });
          req.end();
        }),
      10_000,
      'the web task to answer',
    );
    expect(body).toMatch(/^hello from 10\.213\.\d+\.\d+$/);
    await fw.call({ call: { $case: 'kill', kill: { taskId: 'web', agentId: '' } } });
    await until('web', TaskState.TASK_KILLED);
  });
});
