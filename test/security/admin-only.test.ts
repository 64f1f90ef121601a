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
import { AUTHORITIES } from '../../core/tenancy/grants.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import { startUpCluster, type UpClients, type UpCluster } from '../helpers/up-cluster.js';
import { refusal } from '../helpers/refusal.js';

let cluster: UpCluster;
let admin: UpClients;
let bob: UpClients;
let bobToken = '';
let agentId = '';

const cpus = (millicores: number): Resources => ({ cpus: millicores, mem: 0, disk: 0, gpus: 0, ports: [] });

/** Everything an operator change could move, as the admin reads it. */
async function clusterState() {
  const [agent] = await admin.operator.listAgents({}).then((r) => r.agents);
  const hello = await admin.appmaster.showJob({ name: 'hello' });
  return {
    weights: await admin.operator.getWeights({}).then((r) => r.weights),
    quotas: await admin.operator.listUserQuotas({ user: '' }).then((r) => r.quotas),
    grants: await admin.operator.listGrants({ user: '' }).then((r) => r.users),
    pools: await admin.operator.listPools({}).then((r) => r.pools),
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
  cluster = await startUpCluster('admin-only', '[22350-22399]');
  admin = cluster.clients(cluster.adminToken);
  bobToken = await cluster.addUser('bob', '*', [...AUTHORITIES]);
  bob = cluster.clients(bobToken);
  agentId = (await admin.operator.listAgents({}).then((r) => r.agents))[0]?.info?.id ?? '';
  // What bob will aim at exists: a second pool, a reservation to take back.
  await admin.operator.addPool({ name: 'gpu', description: 'for the attack on pool assign' }).then((r) => r.pool);
  await admin.operator.reserveResources({ agentId, role: 'eng', resources: cpus(500) }).then((r) => r.reservations);
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
    const error = await refusal(bob.operator.setWeights({ weights: [{ role: 'bob', weight: 10 }] }));
    expect(error.message).toBe('GALAXY_E_PERMISSION_DENIED: only an admin may set role weights; bob is not one');
    expect(await clusterState()).toEqual(before);
    // The admin may.
    await admin.operator.setWeights({ weights: [{ role: 'ops', weight: 2 }] });
    expect(await admin.operator.getWeights({}).then((r) => r.weights)).toContainEqual({ role: 'ops', weight: 2 });
  });

  it('refuses quota set; quotas stay', async () => {
    const before = await clusterState();
    const error = await refusal(
      bob.operator.setUserQuota({ user: 'bob', limit: { cpus: 1_000_000 }, guarantee: {} }).then((r) => r.quota),
    );
    expect(error.message).toBe('GALAXY_E_PERMISSION_DENIED: only an admin may set quotas; bob is not one');
    expect(await clusterState()).toEqual(before);
  });

  it('refuses reserve and unreserve; the reservations stay', async () => {
    const before = await clusterState();
    expect(before.agent?.reservations).toContainEqual(expect.objectContaining({ role: 'eng' }));
    expect(
      (
        await refusal(
          bob.operator.reserveResources({ agentId, role: 'bob', resources: cpus(1000) }).then((r) => r.reservations),
        )
      ).message,
    ).toBe('GALAXY_E_PERMISSION_DENIED: only an admin may reserve resources; bob is not one');
    expect(
      (
        await refusal(
          bob.operator.unreserveResources({ agentId, role: 'eng', resources: cpus(500) }).then((r) => r.reservations),
        )
      ).message,
    ).toBe('GALAXY_E_PERMISSION_DENIED: only an admin may unreserve resources; bob is not one');
    expect(await clusterState()).toEqual(before);
  });

  it('refuses pool assign, pool add and remove, labels, drain, offline and online; the agent and its pod stay', async () => {
    const before = await clusterState();
    const attacks: [string, Promise<unknown>, string][] = [
      ['pool assign', bob.operator.assignAgentPool({ agentId, pool: 'gpu' }), 'manage machines'],
      ['drain', bob.operator.setAgentMode({ agentId, mode: 'draining' }), 'manage machines'],
      ['offline', bob.operator.setAgentMode({ agentId, mode: 'offline' }), 'manage machines'],
      ['online', bob.operator.setAgentMode({ agentId, mode: 'online' }), 'manage machines'],
      ['label add', bob.operator.addAgentLabel({ agentId, label: 'owned=bob' }).then((r) => r.labels), 'manage labels'],
      ['label remove', bob.operator.removeAgentLabel({ agentId, label: 'x' }).then((r) => r.labels), 'manage labels'],
      ['pool add', bob.operator.addPool({ name: 'bobs', description: '' }).then((r) => r.pool), 'manage pools'],
      ['pool remove', bob.operator.removePool({ name: 'gpu' }), 'manage pools'],
      [
        'grant',
        bob.operator
          .grantAuthorities({ user: 'bob', pool: '*', authorities: ['job:any'], revoke: true })
          .then((r) => r.grants),
        'grant and revoke authorities',
      ],
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
