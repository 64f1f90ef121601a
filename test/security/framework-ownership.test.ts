/**
 * Attacks on another user's framework, against a real `galaxy master` process (real gRPC, users
 * and grants in its local coordinator). Before this rule the master acted on any call naming a
 * framework id: bob, holding no grant at all, killed alice's task, tore her framework down or took
 * it over by re-subscribing with its id. Now every scheduler call and a re-SUBSCRIBE naming a
 * framework must come from its owner (the user that first subscribed it) or an admin — also after
 * a master failover, and for a framework the new master first hears of from a re-registering
 * agent. Each attack must be refused with GALAXY_E_PERMISSION_DENIED (or, for ids bob guesses,
 * an unknown-id error) and change nothing: the task runs, the framework stays subscribed and
 * owned by alice, her offer stays hers.
 */
import { credentials } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions } from '../../core/auth/client.js';
import { Band } from '../../core/bands.js';
import { callUnary } from '../../core/grpc-errors.js';
import { TaskState, type Offer, type Task, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { SchedulerClient, type CallResponse, type SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import { fakeAgent, type FakeAgent } from '../helpers/fake-agent.js';
import { stopAll } from '../helpers/processes.js';
import { rawAgent, rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { startSecureMaster, type SecureMaster } from '../helpers/secure-master.js';
import { refusal } from '../helpers/refusal.js';

const MiB = 1024 ** 2;
let cluster: SecureMaster;
let agent: FakeAgent;
let agentId = '';
let alice: RawFramework;
let aliceId = '';
/** An offer alice holds and has not used: bob has "observed" its id. */
let observed: Offer;
/** The uuid of t1's RUNNING update, as bob might have observed it. */
let runningUuid = '';
const closers: (() => void)[] = [];

function task(id: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 500, mem: 64 * MiB, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'sleep 600', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}

/** A scheduler call made with `user`'s token, naming whatever framework the caller likes. */
async function callAs(user: string, call: SchedulerCall): Promise<CallResponse> {
  const client = new SchedulerClient(
    cluster.master.address,
    credentials.createInsecure(),
    clientOptions(cluster.tokens[user]),
  );
  try {
    return await callUnary<CallResponse>('the master', (cb) => client.call(call, cb));
  } finally {
    client.close();
  }
}

function offersOf(fw: RawFramework): Offer[] {
  return fw.events.items.flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers : []));
}

/** Nothing bob did reached alice's framework, task or agent. */
async function unchanged(): Promise<void> {
  expect(
    agent.raw.received.items.filter((m) => ['killTask', 'shutdownFramework'].includes(m.message?.$case ?? '')),
  ).toEqual([]);
  expect([...agent.running.keys()]).toContain(`${aliceId}/t1`);
  const fw = (await cluster.frameworks('admin')).find((f) => f.info?.id === aliceId);
  expect(fw).toMatchObject({ owner: 'alice', active: true, info: { roles: ['alice'] } });
  const t1 = (await cluster.tasks('admin')).find((t) => t.taskId === 't1');
  expect(t1).toMatchObject({ frameworkId: aliceId, state: TaskState.TASK_RUNNING, role: 'alice' });
  const stored = await cluster.coordinator.get(`/galaxy/frameworks/${aliceId}`);
  expect(JSON.parse(stored?.value ?? '{}')).toMatchObject({ owner: 'alice', roles: ['alice'] });
}

beforeAll(async () => {
  cluster = await startSecureMaster(['alice', 'bob']);
  await cluster.grants.grant('alice', 'default', [
    'container:create',
    'container:remove',
    'container:list',
    'band:production',
  ]);
  agent = fakeAgent(
    cluster.master.address,
    { hostname: 'h1', total: { cpus: 4000, mem: 4096 * MiB, disk: 0, gpus: 0, ports: [] } },
    0,
    cluster.tokens.agent,
  );
  agentId = await agent.registered;
  alice = rawFramework(
    cluster.master.address,
    { name: 'alices', role: '', failoverTimeoutS: 600 },
    true,
    cluster.tokens.alice,
  );
  aliceId = await alice.frameworkId;
  // The master sees grants through a polled watch: launch once they have arrived.
  await eventually(
    async () => {
      const offer = offersOf(alice).find(
        (o) => !alice.events.items.some((e) => e.event?.$case === 'rescind' && e.event.rescind.offerId === o.id),
      );
      if (!offer) return false;
      return alice
        .call({
          call: {
            $case: 'accept',
            accept: {
              offerIds: [offer.id],
              operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task('t1')] } } }],
            },
          },
        })
        .then(
          () => true,
          () => false,
        );
    },
    30_000,
    't1 launched',
  );
  const running = await alice.events.waitFor(
    (e) => e.event?.$case === 'update' && e.event.update.status?.state === TaskState.TASK_RUNNING,
    10_000,
    't1 RUNNING',
  );
  runningUuid = running.event?.$case === 'update' ? (running.event.update.status?.uuid ?? '') : '';
  // What t1 left of the agent comes back as a new offer: alice holds it.
  await eventually(() => offersOf(alice).length >= 2, 10_000, 'a second offer');
  const second = offersOf(alice).at(-1);
  if (!second) throw new Error('no offer');
  observed = second;
}, 60_000);

afterAll(async () => {
  for (const close of closers.splice(0)) close();
  alice.close();
  agent.close();
  await cluster.stop();
  await stopAll();
});

describe("attacks on alice's framework by bob, who holds no grant", { timeout: 30_000 }, () => {
  it('KILL of her task: refused; the agent is never told to kill it', async () => {
    const error = await refusal(
      callAs('bob', { frameworkId: aliceId, call: { $case: 'kill', kill: { taskId: 't1', agentId } } }),
    );
    expect(error.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(error.message).toMatch(/framework fw-[0-9a-f]{32} belongs to another user; bob may not act as it/);
    await unchanged();
  });

  it('TEARDOWN of her framework: refused; it stays subscribed with its task', async () => {
    const error = await refusal(callAs('bob', { frameworkId: aliceId, call: { $case: 'teardown', teardown: {} } }));
    expect(error.code).toBe('GALAXY_E_PERMISSION_DENIED');
    await unchanged();
  });

  it('re-SUBSCRIBE with her id (taking it over): refused; her subscription stays', async () => {
    const takeover = rawFramework(
      cluster.master.address,
      { id: aliceId, name: 'mine now', role: '' },
      false,
      cluster.tokens.bob,
    );
    closers.push(() => {
      takeover.close();
    });
    const error = await takeover.error;
    expect(error.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(takeover.events.items.some((e) => e.event?.$case === 'subscribed')).toBe(false);
    // An agent's token cannot subscribe any framework, even with its own kind of name.
    const asAgent = rawFramework(
      cluster.master.address,
      { id: aliceId, name: 'x', role: '' },
      false,
      cluster.tokens.agentCredential,
    );
    closers.push(() => {
      asAgent.close();
    });
    expect((await asAgent.error).code).toBe('GALAXY_E_PERMISSION_DENIED');
    await unchanged();
    // alice's stream is alive: her calls work.
    await alice.call({ call: { $case: 'reconcile', reconcile: { tasks: [{ taskId: 't1', agentId }] } } });
  });

  it('ACCEPT into her observed offer, through her framework id or his own framework: refused, nothing launched', async () => {
    const launch = (frameworkId: string, offerId: string): SchedulerCall => ({
      frameworkId,
      call: {
        $case: 'accept',
        accept: {
          offerIds: [offerId],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task('evil')] } } }],
        },
      },
    });
    expect((await refusal(callAs('bob', launch(aliceId, observed.id)))).code).toBe('GALAXY_E_PERMISSION_DENIED');
    const bobs = rawFramework(cluster.master.address, { name: 'bobs', role: '' }, false, cluster.tokens.bob);
    closers.push(() => {
      bobs.close();
    });
    const bobId = await bobs.frameworkId;
    expect((await refusal(callAs('bob', launch(bobId, observed.id)))).code).toBe('GALAXY_E_OFFER_MISMATCH');
    // A guessed offer id names nothing.
    const guessed = `offer-${randomBytes(16).toString('hex')}`;
    expect((await refusal(callAs('bob', launch(bobId, guessed)))).code).toBe('GALAXY_E_OFFER_UNKNOWN');
    expect(
      agent.raw.received.items.some((m) => m.message?.$case === 'runTask' && m.message.runTask.task?.taskId === 'evil'),
    ).toBe(false);
    await unchanged();
  });

  it('ACKNOWLEDGE, RECONCILE, DECLINE, SUPPRESS, REVIVE, MESSAGE, UPDATE_FRAMEWORK, PREEMPT: each refused', async () => {
    const before = alice.events.items.length;
    const calls: SchedulerCall['call'][] = [
      { $case: 'acknowledge', acknowledge: { agentId, taskId: 't1', uuid: runningUuid } },
      { $case: 'reconcile', reconcile: { tasks: [] } },
      { $case: 'decline', decline: { offerIds: [observed.id], filters: { refuseSeconds: 3600 } } },
      { $case: 'suppress', suppress: { roles: [] } },
      { $case: 'revive', revive: { roles: [] } },
      { $case: 'message', message: { agentId, taskId: 't1', data: Buffer.from('hi') } },
      {
        $case: 'updateFramework',
        updateFramework: {
          frameworkInfo: {
            id: aliceId,
            name: 'x',
            role: '',
            roles: ['bob'],
            user: '',
            failoverTimeoutS: 0,
            hostname: '',
          },
        },
      },
      {
        $case: 'preempt',
        preempt: {
          requestId: 'r',
          resources: task('x').resources,
          pool: '',
          labels: {},
          band: Band.BAND_PRODUCTION,
          reason: '',
          role: '',
          dryRun: false,
          assumePreempted: [],
        },
      },
    ];
    for (const call of calls) {
      const error = await refusal(callAs('bob', { frameworkId: aliceId, call }));
      expect([call?.$case, error.code]).toEqual([call?.$case, 'GALAXY_E_PERMISSION_DENIED']);
    }
    // No reconciliation answer reached alice on bob's behalf, and her framework is not suppressed.
    await new Promise((r) => setTimeout(r, 300));
    expect(alice.events.items.slice(before).some((e) => e.event?.$case === 'update')).toBe(false);
    expect((await cluster.frameworks('admin')).find((f) => f.info?.id === aliceId)?.suppressed).toBe(false);
    expect(agent.raw.received.items.some((m) => m.message?.$case === 'frameworkMessage')).toBe(false);
    await unchanged();
  });

  it('a guessed framework id: refused as unknown, and nothing is created under it', async () => {
    const guessed = `fw-${randomBytes(16).toString('hex')}`;
    const squat = rawFramework(
      cluster.master.address,
      { id: guessed, name: 'squat', role: '' },
      false,
      cluster.tokens.bob,
    );
    closers.push(() => {
      squat.close();
    });
    expect((await squat.error).code).toBe('GALAXY_E_FRAMEWORK_UNKNOWN');
    expect(
      (await refusal(callAs('bob', { frameworkId: guessed, call: { $case: 'teardown', teardown: {} } }))).code,
    ).toBe('GALAXY_E_FRAMEWORK_UNKNOWN');
    expect((await cluster.frameworks('admin')).some((f) => f.info?.id === guessed)).toBe(false);
    expect(await cluster.coordinator.get(`/galaxy/frameworks/${guessed}`)).toBeUndefined();
  });

  it('listings: bob sees none of her frameworks or tasks; she and the admin see them', async () => {
    expect((await cluster.frameworks('bob')).map((f) => f.owner)).not.toContain('alice');
    expect(await cluster.tasks('bob')).toEqual([]);
    expect((await cluster.frameworks('alice')).map((f) => f.info?.id)).toEqual([aliceId]);
    expect((await cluster.tasks('alice')).map((t) => t.taskId)).toEqual(['t1']);
    expect((await cluster.frameworks('admin')).map((f) => f.info?.id)).toContain(aliceId);
  });

  it('after all that, her observed offer is still hers to use', async () => {
    await alice.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: [observed.id],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task('t2')] } } }],
        },
      },
    });
    await eventually(() => agent.running.has(`${aliceId}/t2`), 5000, 't2 running');
    await unchanged();
  });
});

describe('after a master failover, her ownership holds', { timeout: 60_000 }, () => {
  it('refuses bob a re-SUBSCRIBE with her id from the registry alone, and once an agent named her framework; admits alice', async () => {
    const t1: Task = {
      taskId: 't1',
      name: 't1',
      frameworkId: aliceId,
      agentId,
      resources: task('t1').resources,
      state: TaskState.TASK_RUNNING,
      labels: [],
      role: 'alice',
    };
    alice.close();
    agent.close();
    await cluster.master.proc.stop('SIGKILL');
    cluster.master = await cluster.startMaster();

    // The new master knows alice's framework only from the registry.
    const early = rawFramework(cluster.master.address, { id: aliceId, name: 'x', role: '' }, false, cluster.tokens.bob);
    closers.push(() => {
      early.close();
    });
    expect((await early.error).code).toBe('GALAXY_E_PERMISSION_DENIED');

    // The agent comes back and names her framework and task before she re-subscribes.
    const back = rawAgent(
      cluster.master.address,
      { id: agentId, hostname: 'h1', total: { cpus: 4000, mem: 4096 * MiB, disk: 0, gpus: 0, ports: [] } },
      [t1],
      [{ id: aliceId, name: 'alices', role: 'alice', roles: ['alice'], user: '', failoverTimeoutS: 600, hostname: '' }],
      cluster.tokens.agent,
    );
    closers.push(() => {
      back.close();
    });
    expect(await back.registered).toBe(agentId);
    const adopted = (await cluster.frameworks('admin')).find((f) => f.info?.id === aliceId);
    expect(adopted).toMatchObject({ owner: 'alice', active: false });

    const late = rawFramework(cluster.master.address, { id: aliceId, name: 'x', role: '' }, false, cluster.tokens.bob);
    closers.push(() => {
      late.close();
    });
    expect((await late.error).code).toBe('GALAXY_E_PERMISSION_DENIED');
    const kill = refusal(
      callAs('bob', { frameworkId: aliceId, call: { $case: 'kill', kill: { taskId: 't1', agentId } } }),
    );
    expect((await kill).code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(back.received.items.some((m) => m.message?.$case === 'killTask')).toBe(false);

    // alice takes her framework back, with its task.
    const again = rawFramework(
      cluster.master.address,
      { id: aliceId, name: 'alices', role: '' },
      true,
      cluster.tokens.alice,
    );
    closers.push(() => {
      again.close();
    });
    expect(await again.frameworkId).toBe(aliceId);
    const mine = await cluster.tasks('alice');
    expect(mine.find((t) => t.taskId === 't1')).toMatchObject({ role: 'alice', state: TaskState.TASK_RUNNING });
  });
});
