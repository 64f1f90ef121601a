/**
 * Operator changes are admins' only, against a real cluster (`galaxy up` in its own process:
 * master, agent, AppMaster, batch on real gRPC). bob holds every authority in every pool, even
 * `job:any`, but is not an admin. Each of his calls must be refused with
 * `GALAXY_E_PERMISSION_DENIED: only an admin may …` (the CLI exits 2 with it) and change
 * nothing the cluster reports: role weights; quotas; the agent's reservations, pool, mode and
 * labels (and the example pod keeps its container, so no drain moved it); pools; grants.
 * The same calls by the admin succeed, so the refusals are the rule's, not broken calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GalaxyError } from '../../core/errors.js';
import { AUTHORITIES } from '../../core/tenancy/grants.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { startUpCluster, type UpClients, type UpCluster } from '../helpers/up-cluster.js';

let cluster: UpCluster;
let admin: UpClients;
let bob: UpClients;
let bobToken = '';
let agentId = '';

const cpus = (millicores: number): Resources => ({ cpus: millicores, mem: 0, disk: 0, gpus: 0, ports: [] });

async function refusal(attempt: Promise<unknown>): Promise<GalaxyError> {
  return attempt.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => error as GalaxyError,
  );
}

/** Everything an operator change could move, as the admin reads it. */
async function clusterState() {
  const [agent] = await admin.operator.agents();
  const hello = await admin.appmaster.show('hello');
  return {
    weights: await admin.operator.weights(),
    quotas: await admin.operator.tenancy.quotas(''),
    grants: await admin.operator.tenancy.grants(''),
    pools: await admin.operator.machines.listPools(),
    agent: agent && {
      pool: agent.info?.pool,
      mode: agent.mode,
      labels: agent.labels,
      reservations: agent.reservations,
    },
    hello: hello.pods.map((p) => [p.podId, p.taskId, p.agentId]),
  };
}

beforeAll(async () => {
  cluster = await startUpCluster('admin-only', '[35350-35399]');
  admin = cluster.clients(cluster.adminToken);
  bobToken = await cluster.addUser('bob', '*', [...AUTHORITIES]);
  bob = cluster.clients(bobToken);
  agentId = (await admin.operator.agents())[0]?.info?.id ?? '';
  // What bob will aim at exists: a second pool, a reservation to take back.
  await admin.operator.machines.addPool('gpu', 'for the attack on pool assign');
  await admin.operator.reservations.reserve(agentId, 'eng', cpus(500));
}, 120_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe('operator changes by a non-admin', { timeout: 60_000 }, () => {
  it('refuses weights set (the CLI exits 2); the weights stay', async () => {
    const before = await clusterState();
    const cli = await cluster.cli(bobToken, ['weights', 'set', 'bob=10', '--master', cluster.master]);
    expect(cli.code, cli.stderr).toBe(2);
    expect(cli.stderr).toContain('GALAXY_E_PERMISSION_DENIED: only an admin may set role weights; bob is not one');
    const error = await refusal(bob.operator.setWeights([{ role: 'bob', weight: 10 }]));
    expect(error.message).toBe('GALAXY_E_PERMISSION_DENIED: only an admin may set role weights; bob is not one');
    expect(await clusterState()).toEqual(before);
    // The admin may.
    await admin.operator.setWeights([{ role: 'ops', weight: 2 }]);
    expect(await admin.operator.weights()).toContainEqual({ role: 'ops', weight: 2 });
  });

  it('refuses quota set; quotas stay', async () => {
    const before = await clusterState();
    const error = await refusal(bob.operator.tenancy.setQuota('bob', { cpus: 1_000_000 }, {}));
    expect(error.message).toBe('GALAXY_E_PERMISSION_DENIED: only an admin may set quotas; bob is not one');
    expect(await clusterState()).toEqual(before);
  });

  it('refuses reserve and unreserve; the reservations stay', async () => {
    const before = await clusterState();
    expect(before.agent?.reservations).toContainEqual(expect.objectContaining({ role: 'eng' }));
    expect((await refusal(bob.operator.reservations.reserve(agentId, 'bob', cpus(1000)))).message).toBe(
      'GALAXY_E_PERMISSION_DENIED: only an admin may reserve resources; bob is not one',
    );
    expect((await refusal(bob.operator.reservations.unreserve(agentId, 'eng', cpus(500)))).message).toBe(
      'GALAXY_E_PERMISSION_DENIED: only an admin may unreserve resources; bob is not one',
    );
    expect(await clusterState()).toEqual(before);
  });

  it('refuses pool assign, pool add and remove, labels, drain, offline and online; the agent and its pod stay', async () => {
    const before = await clusterState();
    const attacks: [string, Promise<unknown>, string][] = [
      ['pool assign', bob.operator.machines.assignPool(agentId, 'gpu'), 'manage machines'],
      ['drain', bob.operator.machines.setMode(agentId, 'draining'), 'manage machines'],
      ['offline', bob.operator.machines.setMode(agentId, 'offline'), 'manage machines'],
      ['online', bob.operator.machines.setMode(agentId, 'online'), 'manage machines'],
      ['label add', bob.operator.machines.addLabel(agentId, 'owned=bob'), 'manage labels'],
      ['label remove', bob.operator.machines.removeLabel(agentId, 'x'), 'manage labels'],
      ['pool add', bob.operator.machines.addPool('bobs', ''), 'manage pools'],
      ['pool remove', bob.operator.machines.removePool('gpu'), 'manage pools'],
      ['grant', bob.operator.tenancy.grant('bob', '*', ['job:any'], true), 'grant and revoke authorities'],
    ];
    for (const [what, attack, only] of attacks)
      expect((await refusal(attack)).message, what).toBe(
        `GALAXY_E_PERMISSION_DENIED: only an admin may ${only}; bob is not one`,
      );
    const drain = await cluster.cli(bobToken, ['agent', 'drain', agentId, '--master', cluster.master]);
    expect(drain.code, drain.stderr).toBe(2);
    expect(drain.stderr).toContain('only an admin may manage machines');
    // A drain would have moved the pod; it still runs in the same container on the same agent.
    await new Promise((r) => setTimeout(r, 1000));
    expect(await clusterState()).toEqual(before);
    expect(before.agent).toMatchObject({ pool: 'default', mode: 'online', labels: [] });
  });
});
