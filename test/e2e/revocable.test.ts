/**
 * Batch work on reclaimed capacity, end to end: a real `galaxy master`, a real `galaxy agent`
 * running Linux containers with `--oversubscribe`, the real batch framework (`galaxy framework run
 * batch`) and a hand-driven service framework. The service holds the agent's whole regular
 * capacity and idles, so its agent lends what it does not use as revocable resources and the
 * batch job runs there; when the service gets busy (holds most of its memory and spins) the
 * agent's QoS controller evicts the batch tasks (TASK_KILLED, reason `resources-revoked`), and once
 * it idles again the batch framework runs them again, without using a retry: the job has
 * `max_retries: 0` and still succeeds. The machine-wide signals are off (`--qos-min-idle 0`,
 * `--qos-min-mem-available 0`) so that other work on a shared machine evicts nothing: only the
 * service's own usage against its allocation does. Runs alone (vitest.config.ts): it measures usage.
 * Agent ports 26300-26309.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../cli/batch-client.js';
import { RESOURCES_REVOKED_REASON } from '../../core/revocable.js';
import { BatchJobSpec, BatchJobState } from '../../proto/gen/galaxy/v1/batch.js';
import { TaskState, Volume, Volume_Kind, type Task } from '../../proto/gen/galaxy/v1/common.js';
import { eventually } from '../helpers/async-queue.js';
import { startFrameworkCluster, type FrameworkCluster } from '../helpers/framework-cluster.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
let cluster: FrameworkCluster;
let service: RawFramework | undefined;
let alice = '';

/** Idles until `trigger/busy` appears; then holds 850 MiB and spins until it goes; then idles. */
const SERVICE = [
  'import os, time',
  "while not os.path.exists('trigger/busy'): time.sleep(0.2)",
  'x = bytes(range(256)) * (850 * 4096)',
  "while os.path.exists('trigger/busy'): pass",
  'del x',
  'while True: time.sleep(1)',
].join('\n');

beforeAll(async () => {
  cluster = await startFrameworkCluster('revocable-e2e', '[26300-26309]', {
    resources: 'cpus:1;mem:1GiB',
    args: [
      '--isolation',
      'cpu,memory',
      '--oversubscribe',
      '--oversubscribe-interval',
      '0.5',
      '--qos-min-idle',
      '0',
      '--qos-min-mem-available',
      '0',
    ],
  });
  alice = await cluster.addUser('alice', ['job:create', 'job:list', 'job:remove', 'job:update', 'container:create']);
}, 60_000);

afterAll(async () => {
  // What the agent said of its estimates and evictions, for a failure's diagnosis.
  const said = cluster.agent.lines.items
    .filter((l) => /evict|"task":"filler|KILLED|FAILED|FINISHED/.test(l))
    .slice(-30);
  if (said.length > 0) console.log(said.join('\n'));
  service?.close();
  await (cluster as FrameworkCluster | undefined)?.stop();
}, 60_000);

async function tasksOf(frameworkId: string): Promise<Task[]> {
  const operator = cluster.operator();
  try {
    return (await operator.listTasks({ frameworkId })).tasks;
  } finally {
    operator.close();
  }
}

describe('revocable resources end to end', { timeout: 120_000 }, () => {
  it('runs batch work on an idle service’s unused capacity, evicts it when the service gets busy, and reruns it without a retry', async () => {
    const batch = await cluster.startFramework('batch');
    const batchId = await batch.subscribed();

    // The service takes the agent's whole regular capacity and idles.
    service = rawFramework(cluster.master.address, { role: '', name: 'service' }, true, cluster.adminToken);
    const offer = await service.events.waitFor((e) => e.event?.$case === 'offers', 20_000, 'an offer');
    const offerIds = offer.event?.$case === 'offers' ? offer.event.offers.offers.map((o) => o.id) : [];
    await service.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds,
          operations: [
            {
              operation: {
                $case: 'launch',
                launch: {
                  taskInfos: [
                    {
                      taskId: 'web',
                      name: 'web',
                      agentId: '',
                      resources: { cpus: 1000, mem: GiB, disk: 0, gpus: 0, ports: [] },
                      command: { shell: '', argv: ['python3', '-c', SERVICE], env: {}, user: '' },
                      labels: [],
                      killGraceS: 1,
                      volumes: [
                        Volume.fromPartial({
                          kind: Volume_Kind.BIND,
                          path: 'trigger',
                          hostPath: cluster.shared,
                          sizeBytes: 0,
                          readOnly: true,
                        }),
                      ],
                    },
                  ],
                },
              },
            },
          ],
        },
      },
    });
    const serviceId = await service.frameworkId;
    await eventually(
      async () => (await tasksOf(serviceId)).some((t) => t.taskId === 'web' && t.state === TaskState.TASK_RUNNING),
      30_000,
      'the service to run',
    );

    // The agent lends what the idle service does not use (1 cpu and 1 GiB less the 20% margin).
    const lending = await eventually(
      async () => {
        const operator = cluster.operator();
        try {
          const [agent] = (await operator.listAgents({})).agents;
          return (agent?.revocableEstimate?.cpus ?? 0) >= 600 && agent;
        } finally {
          operator.close();
        }
      },
      30_000,
      'a revocable estimate',
    );
    expect(lending.revocableEstimate?.cpus).toBeLessThanOrEqual(800);
    expect(lending.revocableEstimate?.mem).toBeLessThanOrEqual(0.8 * GiB);

    const client = new Batch(batch.api, alice);
    try {
      await client.submit(
        BatchJobSpec.fromPartial({
          name: 'filler',
          // The first attempt (task id ending in .1) runs until evicted; a rerun ends after 2 s.
          command: 'case "$GALAXY_TASK_ID" in *.1) sleep 300 ;; *) sleep 2 ;; esac',
          completions: 2,
          parallelism: 2,
          maxRetries: 0,
          resources: { cpus: 300, mem: 128 * MiB, disk: 0, gpus: 0, ports: [] },
        }),
      );
      const firstRun = await eventually(
        async () => {
          const running = (await tasksOf(batchId)).filter((t) => t.state === TaskState.TASK_RUNNING);
          return running.length === 2 && running;
        },
        30_000,
        'both batch tasks running',
      );
      // Only revocable capacity was there: both run on it.
      expect(firstRun.every((t) => t.onRevocable === true)).toBe(true);

      // The service gets busy: the agent takes its memory (and cpu) back.
      await writeFile(join(cluster.shared, 'busy'), '');
      const evicted = await eventually(
        async () => {
          const ids = new Set(firstRun.map((t) => t.taskId));
          const ended = (await tasksOf(batchId)).filter((t) => ids.has(t.taskId) && t.state === TaskState.TASK_KILLED);
          return ended.length === 2 && ended;
        },
        30_000,
        'the batch tasks to be evicted',
      );
      for (const task of evicted) expect(task.status?.reason).toBe(RESOURCES_REVOKED_REASON);
      expect((await tasksOf(serviceId)).find((t) => t.taskId === 'web')?.state).toBe(TaskState.TASK_RUNNING);

      // The service idles again: the job runs its indexes again and succeeds, with no retry used.
      await rm(join(cluster.shared, 'busy'));
      const done = await eventually(
        async () => {
          const job = await client.show('filler');
          return job.state !== BatchJobState.BATCH_RUNNING && job.state !== BatchJobState.BATCH_PENDING && job;
        },
        60_000,
        'the job to end',
      );
      expect(BatchJobState[done.state]).toBe('BATCH_SUCCEEDED');
      expect(done.failed).toBe(0);
      expect(done.retried).toBe(0);
      const reruns = (await tasksOf(batchId)).filter(
        (t) => t.state === TaskState.TASK_FINISHED && !firstRun.some((f) => f.taskId === t.taskId),
      );
      expect(reruns).toHaveLength(2);
      expect(reruns.every((t) => t.onRevocable === true)).toBe(true);
    } finally {
      client.close();
    }
  });
});
