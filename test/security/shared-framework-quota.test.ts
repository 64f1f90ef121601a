/**
 * A user's quota binds the work a shared framework runs for them, against real processes (a
 * `galaxy master` and a `galaxy framework run batch` acting with the admin's token, users and
 * quotas in their local coordinator). Before this rule the batch framework ran every user's tasks
 * in its own role `batch`, so alice's allocator quota limit only held her own frameworks: with her
 * limit used up by her own framework, her batch job still ran at once, on top of it. Now the batch
 * framework holds alice's role while she has a job, places her job only into offers of that role,
 * and its tasks count against her limit in the allocator: the job waits until her own task ends,
 * then runs in role `alice`; once it is done the framework drops her role.
 */
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Batch } from '../../cli/batch-client.js';
import { clientOptions } from '../../core/auth/client.js';
import { Band } from '../../core/bands.js';
import { runRequests } from '../../agent/master-messages.js';
import { callUnary } from '../../core/grpc-errors.js';
import { BatchJobState } from '../../proto/gen/galaxy/v1/batch.js';
import { StatusSource, TaskState, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { SchedulerClient, type CallResponse } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import { fakeAgent, type FakeAgent } from '../helpers/fake-agent.js';
import { galaxy, stopAll } from '../helpers/processes.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { startSecureMaster, type SecureMaster } from '../helpers/secure-master.js';

const MiB = 1024 ** 2;
let cluster: SecureMaster;
let agent: FakeAgent;
let agentId = '';
let own: RawFramework;
let batch: Batch;
let batchId = '';

function ownTask(id: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 1000, mem: 64 * MiB, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'sleep 600', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
    band: Band.BAND_BATCH, // no band authority needed
  };
}

/** Tasks the agent was asked to run for the batch framework. */
function batchLaunches(): string[] {
  return agent.raw.received.items.flatMap((m) =>
    runRequests(m).flatMap(({ framework, task }) => (framework?.id === batchId ? [task?.taskId ?? ''] : [])),
  );
}

beforeAll(async () => {
  cluster = await startSecureMaster(['alice']);
  await cluster.grants.grant('alice', 'default', ['job:create', 'job:list', 'container:create', 'container:remove']);
  await cluster.quotas.set('alice', { limit: { cpus: 1000 } });
  agent = fakeAgent(
    cluster.master.address,
    { hostname: 'h1', total: { cpus: 4000, mem: 4096 * MiB, disk: 0, gpus: 0, ports: [] } },
    0,
    cluster.tokens.agent,
  );
  agentId = await agent.registered;
  const proc = galaxy(
    [
      'framework',
      'run',
      'batch',
      '--master',
      cluster.master.address,
      '--option',
      'listen=127.0.0.1:0',
      `coordinator=${cluster.url}`,
      '--coordinator',
      cluster.url,
    ],
    { GALAXY_TOKEN: cluster.tokens.admin ?? '' },
  );
  const line = await proc.lines.waitFor((l) => l.startsWith('batch API listening on '), 20_000, 'the batch API');
  batch = new Batch(line.slice('batch API listening on '.length).trim(), cluster.tokens.alice);
  const subscribed = await proc.lines.waitFor((l) => l.startsWith('framework batch subscribed as '), 20_000, 'batch');
  batchId = subscribed.slice('framework batch subscribed as '.length).trim();
}, 60_000);

afterAll(async () => {
  batch.close();
  own.close();
  agent.close();
  await stopAll();
  await cluster.stop();
});

describe("a shared framework's work counts against its owner's quota in the allocator", { timeout: 60_000 }, () => {
  it("holds alice's batch job while her own framework uses her limit, then runs it in her role", async () => {
    // alice's own framework takes 1 core: all her limit.
    own = rawFramework(cluster.master.address, { name: 'alices', role: '' }, true, cluster.tokens.alice);
    const ownId = await own.frameworkId;
    await eventually(
      async () => {
        const offers = own.events.items.flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers : []));
        const offer: Offer | undefined = offers.find((o) => (o.resources?.cpus ?? 0) >= 1000);
        if (!offer) return false;
        return own
          .call({
            call: {
              $case: 'accept',
              accept: {
                offerIds: [offer.id],
                operations: [{ operation: { $case: 'launch', launch: { taskInfos: [ownTask('own')] } } }],
              },
            },
          })
          .then(
            () => true,
            () => false,
          );
      },
      30_000,
      "alice's own task",
    );
    await eventually(() => agent.running.has(`${ownId}/own`), 5000, 'own running');

    // Her batch job fits her quota's admission (it claims only batch jobs)…
    const job = await batch.submit({
      name: 'crunch',
      command: 'true',
      completions: 1,
      parallelism: 1,
      maxRetries: 0,
      backoffS: 0,
      deadlineS: 0,
      volumes: [],
      band: 'batch',
      pool: '',
      resources: { cpus: 500, mem: 32 * MiB, disk: 0, gpus: 0, ports: [] },
    });
    expect(job.owner).toBe('alice');
    // …and the batch framework now holds her role.
    await eventually(
      async () =>
        (await cluster.frameworks('admin')).find((f) => f.info?.id === batchId)?.info?.roles.includes('alice') === true,
      10_000,
      "the batch framework holding alice's role",
    );
    // …but the allocator holds it to her limit: nothing is launched while her own task runs.
    await new Promise((r) => setTimeout(r, 2500));
    expect(batchLaunches()).toEqual([]);
    expect((await batch.show('crunch')).state).toBe(BatchJobState.BATCH_PENDING);

    // Her own task ends: the batch task runs, in her role.
    const client = new SchedulerClient(
      cluster.master.address,
      credentials.createInsecure(),
      clientOptions(cluster.tokens.alice),
    );
    await callUnary<CallResponse>('the master', (cb) =>
      client.call({ frameworkId: ownId, call: { $case: 'kill', kill: { taskId: 'own', agentId } } }, cb),
    );
    client.close();
    await eventually(() => batchLaunches().length === 1, 15_000, 'the batch task launched');
    const launched = (await cluster.tasks('admin')).find((t) => t.frameworkId === batchId);
    expect(launched).toMatchObject({ role: 'alice' });

    // It finishes: the job succeeds and the framework drops alice's role.
    const taskId = batchLaunches()[0] ?? '';
    agent.running.delete(`${batchId}/${taskId}`);
    agent.raw.send({
      message: {
        $case: 'statusUpdate',
        statusUpdate: {
          status: {
            taskId,
            frameworkId: batchId,
            agentId,
            state: TaskState.TASK_FINISHED,
            reason: '',
            message: '',
            source: StatusSource.SOURCE_AGENT,
            timestamp: Date.now() / 1000,
            uuid: 'finished-1',
          },
        },
      },
    });
    await eventually(
      async () => (await batch.show('crunch')).state === BatchJobState.BATCH_SUCCEEDED,
      10_000,
      'the job done',
    );
    await eventually(
      async () =>
        (await cluster.frameworks('admin')).find((f) => f.info?.id === batchId)?.info?.roles.includes('alice') ===
        false,
      10_000,
      "alice's role dropped",
    );
  });
});
