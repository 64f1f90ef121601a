/**
 * The event log's trust boundary, against a real cluster (`galaxy up` in its own process, real
 * gRPC, every server authenticating). The admin's example job is the admin's; bob is a plain user
 * with his own framework.
 *
 * - bob sees only his own events: none of the admin's job, agent or frameworks, not with
 *   `--user admin`, not with `--job hello`, not in a watch (the admin sees them all);
 * - bob's framework publishing an event for another user is refused (PERMISSION_DENIED), one
 *   spoofing a master kind (task.*) too (INVALID_ARGUMENT), and an over-long batch
 *   (LIMIT_EXCEEDED): each keeps nothing — the admin's log is unchanged;
 * - what bob's framework publishes about its own job is his to see.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListEventsRequest, type MasterEvent } from '../../proto/gen/galaxy/v1/operator.js';
import { FrameworkEvent } from '../../proto/gen/galaxy/v1/scheduler.js';
import { BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import { OperatorClient } from '../../proto/gen/galaxy/v1/operator.js';
import { channelCredentials } from '../../core/tls.js';
import { clientOptions } from '../../core/auth/client.js';
import { eventually } from '../helpers/async-queue.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { startUpCluster, type UpCluster } from '../helpers/up-cluster.js';
import { refusal } from '../helpers/refusal.js';

let cluster: UpCluster;
let bobToken = '';
let bobFramework: RawFramework;

async function events(token: string, request: Partial<ListEventsRequest> = {}): Promise<MasterEvent[]> {
  return cluster
    .clients(token)
    .operator.listEvents(ListEventsRequest.fromPartial(request))
    .then((r) => r.events);
}

function publish(events: Partial<FrameworkEvent>[]): Promise<void> {
  return bobFramework.call({
    call: { $case: 'publishEvents', publishEvents: { events: events.map((e) => FrameworkEvent.fromPartial(e)) } },
  });
}

beforeAll(async () => {
  cluster = await startUpCluster('events', '[22450-22499]');
  bobToken = await cluster.addUser('bob', 'default', ['job:create', 'job:list', 'container:list']);
  bobFramework = rawFramework(cluster.master, { name: 'bobs', role: 'bob', roles: ['bob'] }, true, bobToken);
  await bobFramework.frameworkId;
}, 120_000);

afterAll(async () => {
  bobFramework.close();
  await cluster.stop();
}, 60_000);

describe('who sees which events', () => {
  it("shows the admin every event, and bob none of the admin's", async () => {
    const all = await eventually(
      async () => {
        const seen = await events(cluster.adminToken);
        return seen.some((e) => e.kind === 'job.submitted') && seen.some((e) => e.kind === 'task.running')
          ? seen
          : undefined;
      },
      15_000,
      'the example job in the admin view',
    );
    expect(all.some((e) => e.kind === 'agent.registered')).toBe(true);
    expect(all.some((e) => e.kind === 'framework.subscribed' && e.user === 'bob')).toBe(true);
    const mine = await events(bobToken);
    expect(mine.every((e) => e.user === 'bob')).toBe(true);
    expect(mine.some((e) => e.kind === 'framework.subscribed')).toBe(true);
    expect(await events(bobToken, { user: 'admin' })).toEqual([]);
    expect(await events(bobToken, { job: 'hello' })).toEqual([]);
    expect(await events(bobToken, { kind: 'agent' })).toEqual([]);
  });

  it("streams bob only his own events in a watch, the admin's job's not", async () => {
    const client = new OperatorClient(cluster.master, channelCredentials(), clientOptions(bobToken));
    const seen: MasterEvent[] = [];
    const call = client.watchEvents(ListEventsRequest.fromPartial({}));
    call.on('data', (e: MasterEvent) => seen.push(e));
    call.on('error', () => undefined);
    await publish([{ kind: 'job.submitted', job: 'bobs-job', message: 'watched' }]);
    await eventually(() => seen.some((e) => e.message === 'watched'), 10_000, "bob's own event in his watch");
    call.cancel();
    client.close();
    expect(seen.every((e) => e.user === 'bob')).toBe(true);
  });
});

describe("a framework's published events", () => {
  it('refuses an event for another user, a master kind and an oversized batch, keeping none', async () => {
    const before = await events(cluster.adminToken, { kind: 'job' });
    const other = await refusal(
      publish([
        { kind: 'job.submitted', job: 'x' },
        { kind: 'job.removed', job: 'hello', user: 'admin' },
      ]),
    );
    expect(other.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(other.message).toContain('does not act for user admin');
    const spoof = await refusal(publish([{ kind: 'task.failed', job: 'hello' }]));
    expect(spoof.code).toBe('GALAXY_E_INVALID_ARGUMENT');
    const flood = await refusal(publish(Array.from({ length: 501 }, () => ({ kind: 'job.updated' }))));
    expect(flood.code).toBe('GALAXY_E_LIMIT_EXCEEDED');
    const after = await events(cluster.adminToken, { kind: 'job' });
    expect(after.map((e) => e.id)).toEqual(before.map((e) => e.id));
  });

  it("keeps what bob's framework publishes of his own jobs, stamped with the framework", async () => {
    await publish([{ kind: 'job.paused', job: 'bobs-job', reason: 'breakpoint' }]);
    const mine = await events(bobToken, { job: 'bobs-job', kind: 'job.paused' });
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ user: 'bob', source: 'bobs', frameworkId: await bobFramework.frameworkId });
  });

  it(
    "records a batch job's submit and end, and names the job in its tasks' events; bob sees none of it",
    { timeout: 60_000 },
    async () => {
      // bob's raw framework answers no offer: it lets go of what it holds so that batch is offered the agent.
      await bobFramework.call({ call: { $case: 'suppress', suppress: { roles: [] } } });
      const held = bobFramework.events.items.flatMap((e) =>
        e.event?.$case === 'offers' ? e.event.offers.offers.map((o) => o.id) : [],
      );
      await bobFramework.call({
        call: { $case: 'decline', decline: { offerIds: held, filters: { refuseSeconds: 600 } } },
      });
      const name = `crunch-${Math.random().toString(36).slice(2, 8)}`;
      await cluster.clients(cluster.adminToken).batch.submit(
        BatchJobSpec.fromPartial({
          name,
          command: 'true',
          completions: 2,
          parallelism: 2,
          band: 'batch',
          resources: { cpus: 100, mem: 32 * 1024 * 1024 },
        }),
      );
      const seen = await eventually(
        async () => {
          const all = await events(cluster.adminToken, { job: name });
          return all.some((e) => e.kind === 'job.succeeded') ? all : undefined;
        },
        30_000,
        'the batch job to succeed in the event log',
      );
      const kinds = seen.map((e) => e.kind);
      expect(kinds).toContain('task.finished');
      expect(seen.find((e) => e.kind === 'job.submitted')).toMatchObject({
        user: 'admin',
        actor: 'admin',
        source: 'batch',
      });
      expect(seen.find((e) => e.kind === 'job.succeeded')).toMatchObject({
        user: 'admin',
        state: 'BATCH_SUCCEEDED',
        message: '2 succeeded, 0 failed, 0 retried',
      });
      expect(seen.filter((e) => e.kind === 'task.finished').every((e) => e.job === name)).toBe(true);
      expect(await events(bobToken, { job: name })).toEqual([]);
    },
  );
});
