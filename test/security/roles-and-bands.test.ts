/**
 * Attacks with roles and bands, against a real `galaxy master` process (real gRPC, users and
 * grants in its local coordinator). Before these rules a framework named any role it liked — and
 * so used another user's quota, guarantee and reservations — and any framework could PREEMPT for
 * the monitoring band, killing other users' production work. Now a framework subscribes (or
 * updates its roles) only with roles its owner holds, and PREEMPT is honoured only when the acting
 * user holds the band in the pool (a dry run too, which also names no role its owner lacks). Each
 * attack is refused with GALAXY_E_PERMISSION_DENIED (a real PREEMPT assuming victims, as only a dry
 * run may: GALAXY_E_INVALID_ARGUMENT) and changes nothing: no framework or registry record appears,
 * roles stay, no task is killed.
 */
import { credentials } from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions } from '../../core/auth/client.js';
import { Band } from '../../core/bands.js';
import { callUnary } from '../../core/grpc-errors.js';
import { TaskState, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { ListEventsRequest, OperatorClient, type ListEventsResponse } from '../../proto/gen/galaxy/v1/operator.js';
import {
  SchedulerClient,
  type CallResponse,
  type PreemptCall,
  type SchedulerCall,
} from '../../proto/gen/galaxy/v1/scheduler.js';
import { eventually } from '../helpers/async-queue.js';
import { fakeAgent, type FakeAgent } from '../helpers/fake-agent.js';
import { GALAXY_BIN, stopAll } from '../helpers/processes.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { startSecureMaster, type SecureMaster } from '../helpers/secure-master.js';
import { refusal } from '../helpers/refusal.js';

const MiB = 1024 ** 2;
/** A task named as a would-be victim. */
const victimRef = (frameworkId: string, taskId: string) => ({
  taskId,
  frameworkId,
  name: taskId,
  band: Band.BAND_PRODUCTION,
  revocable: false,
});
const run = promisify(execFile);
let cluster: SecureMaster;
const closers: (() => void)[] = [];

function task(id: string, cpus: number, band: Band): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus, mem: 64 * MiB, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'sleep 600', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
    band,
  };
}

function framework(user: string, info: Parameters<typeof rawFramework>[1]): RawFramework {
  const fw = rawFramework(cluster.master.address, { role: '', ...info }, true, cluster.tokens[user]);
  closers.push(() => {
    fw.close();
  });
  return fw;
}

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

/** Launches `tasks` into the framework's first usable offer, retrying until the master has seen the grants. */
async function launch(fw: RawFramework, tasks: TaskInfo[]): Promise<void> {
  const offers = (): Offer[] =>
    fw.events.items.flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers : []));
  await eventually(
    async () => {
      for (const offer of offers()) {
        const launched = await fw
          .call({
            call: {
              $case: 'accept',
              accept: {
                offerIds: [offer.id],
                operations: [{ operation: { $case: 'launch', launch: { taskInfos: tasks } } }],
              },
            },
          })
          .then(
            () => true,
            () => false,
          );
        if (launched) return true;
      }
      return false;
    },
    30_000,
    `${tasks.map((t) => t.taskId).join(',')} launched`,
  );
}

/** Runs the CLI as `user`; resolves with what it printed (stdout and stderr). */
async function cli(args: string[], user: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, GALAXY_TOKEN: cluster.tokens[user] ?? '', NO_COLOR: '1' };
  delete env.GALAXY_TOKEN_FILE;
  return run(process.execPath, [GALAXY_BIN, ...args], { env, timeout: 20_000 }).then(
    ({ stdout, stderr }) => stdout + stderr,
    (error: unknown) => {
      const failed = error as { stdout?: string; stderr?: string };
      return (failed.stdout ?? '') + (failed.stderr ?? '');
    },
  );
}

async function registryKeys(): Promise<string[]> {
  return cluster.coordinator.list('/galaxy/frameworks');
}

beforeAll(async () => {
  cluster = await startSecureMaster(['alice', 'bob', 'carol']);
}, 60_000);

afterAll(async () => {
  for (const close of closers.splice(0)) close();
  await cluster.stop();
  await stopAll();
});

describe('roles are granted', { timeout: 30_000 }, () => {
  it("refuses a subscription with another user's role, or an ungranted one, storing nothing", async () => {
    const before = await registryKeys();
    for (const roles of [['alice'], ['bob', 'eng'], ['*']]) {
      const error = await framework('bob', { name: 'sneaky', roles }).error;
      expect(error.code).toBe('GALAXY_E_PERMISSION_DENIED');
      expect(error.message).toMatch(/user bob does not hold role/);
    }
    const single = await framework('bob', { name: 'sneaky', role: 'alice' }).error;
    expect(single.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(await registryKeys()).toEqual(before);
    expect((await cluster.frameworks('admin')).filter((f) => f.owner === 'bob')).toEqual([]);
  });

  it("refuses UPDATE_FRAMEWORK to another user's role; the framework's roles stay", async () => {
    const own = framework('bob', { name: 'bobs' });
    const id = await own.frameworkId;
    const error = await refusal(
      callAs('bob', {
        frameworkId: id,
        call: {
          $case: 'updateFramework',
          updateFramework: {
            frameworkInfo: {
              id,
              name: 'bobs',
              role: '',
              roles: ['bob', 'alice'],
              user: '',
              failoverTimeoutS: 0,
              hostname: '',
            },
          },
        },
      }),
    );
    expect(error.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(error.message).toMatch(/user bob does not hold role alice/);
    expect((await cluster.frameworks('admin')).find((f) => f.info?.id === id)?.info?.roles).toEqual(['bob']);
    expect(JSON.parse((await cluster.coordinator.get(`/galaxy/frameworks/${id}`))?.value ?? '{}')).toMatchObject({
      owner: 'bob',
      roles: ['bob'],
    });
    // Granted (with the CLI, as an admin would), the same update is accepted.
    const granted = await cli(['grant', 'role', 'bob', 'eng', '--master', cluster.master.address], 'admin');
    expect(granted).toMatch(/bob\s+-\s+role:eng/);
    expect(await cli(['grant', 'role', 'bob', 'ops', '--master', cluster.master.address], 'bob')).toMatch(
      /GALAXY_E_PERMISSION_DENIED: only an admin may grant and revoke roles/,
    );
    expect(await cli(['grants', 'bob', '--master', cluster.master.address, '-o', 'json'], 'bob')).toContain(
      '"authorities": "role:eng"',
    );
    await eventually(
      () =>
        callAs('bob', {
          frameworkId: id,
          call: {
            $case: 'updateFramework',
            updateFramework: {
              frameworkInfo: {
                id,
                name: 'bobs',
                role: '',
                roles: ['bob', 'eng'],
                user: '',
                failoverTimeoutS: 0,
                hostname: '',
              },
            },
          },
        }).then(
          () => true,
          () => false,
        ),
      10_000,
      'the granted role accepted',
    );
    expect((await cluster.frameworks('admin')).find((f) => f.info?.id === id)?.info?.roles).toEqual(['bob', 'eng']);
  });
});

describe('bands and preemption are authorities', { timeout: 40_000 }, () => {
  let agent: FakeAgent;

  it('refuses a monitoring-band PREEMPT without the grant in the pool; no victim is touched', async () => {
    // The frameworks of the tests above go (their offers are rescinded): carol gets the agent.
    for (const close of closers.splice(0)) close();
    agent = fakeAgent(
      cluster.master.address,
      { hostname: 'd1', total: { cpus: 2000, mem: 1024 * MiB, disk: 0, gpus: 0, ports: [] } },
      0,
      cluster.tokens.agent,
    );
    closers.push(() => {
      agent.close();
    });
    await agent.registered;
    // carol's production work fills the agent.
    await cluster.grants.grant('carol', 'default', ['container:create', 'band:production']);
    const carols = framework('carol', { name: 'carols', failoverTimeoutS: 600 });
    const carolId = await carols.frameworkId;
    await launch(carols, [task('c1', 1000, Band.BAND_PRODUCTION), task('c2', 1000, Band.BAND_PRODUCTION)]);
    await eventually(() => agent.running.size === 2, 5000, "carol's tasks running");

    await cluster.grants.grant('bob', 'default', ['container:create', 'band:production']);
    await cluster.grants.grant('bob', 'gpu', ['band:monitoring']);
    const bobs = framework('bob', { name: 'pager' });
    const bobId = await bobs.frameworkId;
    const preempt = (band: Band, extra: Partial<PreemptCall> = {}) =>
      callAs('bob', {
        frameworkId: bobId,
        call: {
          $case: 'preempt',
          preempt: {
            requestId: `page-${band}`,
            resources: { cpus: 1000, mem: 64 * MiB, disk: 0, gpus: 0, ports: [] },
            pool: 'default',
            labels: {},
            band,
            reason: 'an attack',
            role: '',
            dryRun: false,
            assumePreempted: [],
            ...extra,
          },
        },
      });
    // Wait until the master has seen bob's grants (production passes the check, then is refused
    // for lack of lower-band victims: production never preempts production).
    await eventually(
      () =>
        preempt(Band.BAND_PRODUCTION).then(
          (r) => r.preemption?.granted === false,
          () => false,
        ),
      10_000,
      "bob's grants seen",
    );
    // band:monitoring in another pool does not count here.
    const error = await refusal(preempt(Band.BAND_MONITORING));
    expect(error.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(error.message).toMatch(/user bob lacks band:monitoring in pool default/);
    // A dry run (what `galaxy job plan` asks) is checked the same: the band authority, and a role
    // not held by the framework's owner; only a dry run may assume victims.
    const dry = await refusal(preempt(Band.BAND_MONITORING, { dryRun: true }));
    expect(dry.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(dry.message).toMatch(/user bob lacks band:monitoring in pool default/);
    const otherRole = await refusal(preempt(Band.BAND_PRODUCTION, { dryRun: true, role: 'carol' }));
    expect(otherRole.code).toBe('GALAXY_E_PERMISSION_DENIED');
    expect(otherRole.message).toMatch(/user bob does not hold role carol/);
    const assumed = await refusal(preempt(Band.BAND_PRODUCTION, { assumePreempted: [victimRef(carolId, 'c1')] }));
    expect(assumed.code).toBe('GALAXY_E_INVALID_ARGUMENT');
    expect(assumed.message).toMatch(/assume_preempted is for dry runs only/);
    await new Promise((r) => setTimeout(r, 500));
    expect(agent.raw.received.items.some((m) => m.message?.$case === 'killTask')).toBe(false);
    expect([...agent.running.keys()].sort()).toEqual([`${carolId}/c1`, `${carolId}/c2`]);
    const carolTasks = (await cluster.tasks('admin')).filter((t) => t.frameworkId === carolId);
    expect(carolTasks.map((t) => t.state)).toEqual([TaskState.TASK_RUNNING, TaskState.TASK_RUNNING]);
    const client = new OperatorClient(
      cluster.master.address,
      credentials.createInsecure(),
      clientOptions(cluster.tokens.admin),
    );
    const events = await callUnary<ListEventsResponse>('the master', (cb) =>
      client.listEvents(ListEventsRequest.fromPartial({}), cb),
    );
    client.close();
    expect(events.events.filter((e) => e.kind === 'preemption')).toEqual([]);

    // Granted in the pool, the same PREEMPT is honoured: the rule, not something else, refused it.
    await cluster.grants.grant('bob', 'default', ['band:monitoring']);
    await eventually(
      () =>
        preempt(Band.BAND_MONITORING).then(
          (r) => r.preemption?.granted === true,
          () => false,
        ),
      10_000,
      'the granted preemption',
    );
    await eventually(() => agent.running.size === 1, 5000, "one of carol's tasks preempted");
  });
});
