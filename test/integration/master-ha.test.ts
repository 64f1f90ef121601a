/**
 * Masters with standbys, on the local coordinator and on a real ZooKeeper ensemble: the first candidate leads, a standby refuses
 * with the leader's address, agents and frameworks find the leader through the coordinator, and
 * when the leader goes its standby takes over: agents re-register with their tasks, frameworks
 * re-subscribe, role weights come back from the registry, and no task is lost.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { callUnary } from '../../core/grpc-errors.js';
import { MasterCandidate } from '../../master/candidate.js';
import { GrpcSchedulerDriver } from '../../frameworks/sdk/scheduler-driver.js';
import { Limits, TaskState, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { OperatorClient, type GetWeightsResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { eventually } from '../helpers/async-queue.js';
import { killWithEnv } from '../helpers/processes.js';
import { useZkEnsemble } from '../helpers/zk-fixture.js';
import { channelCredentials } from '../../core/tls.js';
import { openCoordinator } from '../../core/coordinator/index.js';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  cleanups.length = 0;
});

/** One operator call against `address`. */
async function weights(address: string): Promise<GetWeightsResponse> {
  const client = new OperatorClient(address, channelCredentials());
  try {
    return await callUnary<GetWeightsResponse>(address, (cb) => client.getWeights({}, cb));
  } finally {
    client.close();
  }
}

const zk = useZkEnsemble();

/** The coordinator URL of each backend, fresh per test. */
const backends: [string, (dir: string) => string][] = [
  ['local', (dir) => `local:${join(dir, 'coord')}`],
  ['zookeeper', (dir) => `zk://${zk.ensemble().connectString}/ha-${basename(dir)}?session=2000ms`],
];

describe.each(backends)('masters with standbys on the %s coordinator', (_name, coordinatorIn) => {
  it('fail over: the standby leads, agents and frameworks follow, tasks and weights survive', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'galaxy-master-ha-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const coordinator = coordinatorIn(dir);
    const timings = { allocationIntervalMs: 50, agentReregisterTimeoutMs: 20_000 };
    const first = await MasterCandidate.start({
      listen: '127.0.0.1:0',
      coordinator,
      insecureNoAuth: true,
      logLevel: 'silent',
      timings,
    });
    cleanups.push(() => first.stop());
    const leader = await first.leading;
    const second = await MasterCandidate.start({
      listen: '127.0.0.1:0',
      coordinator,
      insecureNoAuth: true,
      logLevel: 'silent',
      timings,
    });
    cleanups.push(() => second.stop());

    // The standby refuses, naming the leader.
    await expect(weights(second.address)).rejects.toMatchObject({ code: 'GALAXY_E_NOT_LEADER' });
    await eventually(
      () => weights(second.address).catch((e: unknown) => String(e).includes(first.address)),
      5000,
      'the standby to name the leader',
    );

    // An agent and a framework that only know the coordinator find the leader.
    const workDir = join(dir, 'agent');
    const agent: Agent = await startAgent({
      master: coordinator,
      workDir,
      resources: 'cpus:2;mem:1GiB',
      logLevel: 'silent',
    });
    cleanups.push(async () => {
      await agent.stop();
      killWithEnv(`GALAXY_SANDBOX=${workDir}`);
    });
    await eventually(() => agent.connected, 10_000, 'the agent to register');
    const running = new Set<string>();
    let launched = false;
    const driver = new GrpcSchedulerDriver({
      master: coordinator,
      framework: { name: 'ha-test', failoverTimeoutS: 60 },
      reconnect: { initialMs: 50, maxMs: 500 },
      logger: undefined,
      scheduler: {
        offers: async (d, offers) => {
          const offer = offers[0];
          if (launched || !offer) {
            await d.decline(offers.map((o) => o.id));
            return;
          }
          launched = true;
          const task: TaskInfo = {
            taskId: 'long-1',
            name: 'long',
            agentId: offer.agentId,
            resources: { cpus: 100, mem: 16 * 1024 * 1024, disk: 0, gpus: 0, ports: [] },
            command: { shell: 'sleep 60', argv: [], env: {}, user: '' },
            labels: [],
            killGraceS: 1,
            limits: Limits.create(),
            volumes: [],
          };
          await d.launch([offer.id], [task]);
        },
        update: (_d, status) => {
          if (status.state === TaskState.TASK_RUNNING) running.add(status.taskId);
          if (status.state !== TaskState.TASK_RUNNING && status.reason !== 'reconciliation')
            running.delete(status.taskId);
        },
      },
    });
    cleanups.push(() => driver.stop());
    const frameworkId = await driver.start();
    await eventually(() => running.has('long-1'), 10_000, 'the task to run');
    expect(leader.view.tasks(frameworkId).map((t) => t.taskId)).toEqual(['long-1']);

    // Weights set on the leader are in the registry.
    const client = new OperatorClient(first.address, channelCredentials());
    await callUnary(first.address, (cb) => client.setWeights({ weights: [{ role: 'eng', weight: 3 }] }, cb));
    client.close();

    // The registry keeps the admitted agent's key; a re-registration does not write it again.
    const store = await openCoordinator(coordinator);
    cleanups.push(() => store.close());
    const agentKey = `/galaxy/master/agents/${agent.agentId}`;
    await eventually(async () => (await store.get(agentKey)) !== undefined, 10_000, "the agent's registry key");
    const admitted = await store.get(agentKey);

    // The leader goes; the standby takes over.
    await first.stop();
    const next = await second.leading;
    await eventually(() => next.view.agents().length === 1, 15_000, 'the agent to re-register with the new leader');
    await eventually(
      () => next.view.frameworks().some((f) => f.info?.id === frameworkId && f.active),
      15_000,
      'the framework to re-subscribe',
    );
    await eventually(
      () => next.view.tasks(frameworkId).some((t) => t.taskId === 'long-1' && t.state === TaskState.TASK_RUNNING),
      10_000,
      'the task rebuilt from the agent',
    );
    expect(running.has('long-1')).toBe(true);
    expect((await weights(second.address)).weights).toContainEqual({ role: 'eng', weight: 3 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await store.get(agentKey))?.version).toBe(admitted?.version);
  });

  it('reports an admitted agent lost when it does not re-register with the new leader', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'galaxy-master-ha-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const coordinator = coordinatorIn(dir);
    const timings = { allocationIntervalMs: 50, agentReregisterTimeoutMs: 4000 };
    const first = await MasterCandidate.start({
      listen: '127.0.0.1:0',
      coordinator,
      insecureNoAuth: true,
      logLevel: 'silent',
      timings,
    });
    cleanups.push(() => first.stop());
    await first.leading;
    const second = await MasterCandidate.start({
      listen: '127.0.0.1:0',
      coordinator,
      insecureNoAuth: true,
      logLevel: 'silent',
      timings,
    });
    cleanups.push(() => second.stop());
    const workDir = join(dir, 'agent');
    const agent = await startAgent({
      master: coordinator,
      workDir,
      resources: 'cpus:1;mem:256MiB',
      logLevel: 'silent',
    });
    await eventually(() => agent.connected, 10_000, 'the agent to register');
    const failures: string[] = [];
    /** Reconciliation answers about a task of the lost agent, and whether it was reported lost by then. */
    const answers: { state: TaskState; afterFailure: boolean }[] = [];
    const driver = new GrpcSchedulerDriver({
      master: coordinator,
      framework: { name: 'ha-failure', failoverTimeoutS: 60 },
      reconnect: { initialMs: 50, maxMs: 500 },
      scheduler: {
        offers: (d, offers) => d.decline(offers.map((o) => o.id)),
        failure: (_d, agentId) => {
          failures.push(agentId);
        },
        update: (_d, status) => {
          if (status.taskId === 'on-lost-agent')
            answers.push({ state: status.state, afterFailure: failures.includes(status.agentId) });
        },
      },
    });
    cleanups.push(() => driver.stop());
    const frameworkId = await driver.start();
    const agentId = agent.agentId;
    await agent.stop();
    await first.stop();
    const next = await second.leading;
    await eventually(
      () => next.view.frameworks().some((f) => f.info?.id === frameworkId && f.active),
      10_000,
      'the framework to re-subscribe',
    );
    // A task the new leader does not know, on an agent that may still re-register with it: no
    // TASK_UNKNOWN (its framework would launch it again beside the running copy) until the agent
    // is reported lost.
    await driver.reconcile([{ taskId: 'on-lost-agent', agentId }]);
    expect(failures).not.toContain(agentId);
    await eventually(() => failures.includes(agentId), 15_000, 'the lost agent reported to the framework');
    expect(next.view.agents()).toEqual([]);
    await driver.reconcile([{ taskId: 'on-lost-agent', agentId }]);
    await eventually(() => answers.length > 0, 5000, 'the reconciliation answered once the agent is lost');
    expect(answers).toEqual([{ state: TaskState.TASK_UNKNOWN, afterFailure: true }]);
  });
});
