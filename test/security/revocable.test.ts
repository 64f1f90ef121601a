/**
 * Attacks on revocable resources, against a real `galaxy master` process (real gRPC, users in its
 * local coordinator) and a hand-driven agent. Revocable offers are lent capacity: a framework that
 * did not ask for them (capability REVOCABLE_RESOURCES) never gets one; a task launched from one
 * must say it runs on revocable resources (its agent may evict it), so a framework cannot slip a
 * regular task onto lent capacity (the ACCEPT is refused with GALAXY_E_REVOCABLE_MISMATCH and
 * nothing is launched); and an agent's estimate is input like any other: more than its total or
 * negative is clamped, with a log line, before anything is offered from it.
 */
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions } from '../../core/auth/client.js';
import type { GalaxyError } from '../../core/errors.js';
import { callUnary } from '../../core/grpc-errors.js';
import { Band, FrameworkCapability, type Offer, type TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { OperatorClient, type AgentSummary, type ListAgentsResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { eventually } from '../helpers/async-queue.js';
import { fakeAgent, type FakeAgent } from '../helpers/fake-agent.js';
import { stopAll } from '../helpers/processes.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { startSecureMaster, type SecureMaster } from '../helpers/secure-master.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;
let cluster: SecureMaster;
let agent: FakeAgent;
let agentId: string;
let taker: RawFramework;
let other: RawFramework;

function task(id: string, onRevocable: boolean): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 500, mem: 128 * MiB, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'sleep 600', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
    band: Band.BAND_BATCH,
    ...(onRevocable ? { onRevocable: true } : {}),
  };
}

function offersOf(fw: RawFramework): Offer[] {
  return fw.events.items.flatMap((e) => (e.event?.$case === 'offers' ? e.event.offers.offers : []));
}

async function agents(): Promise<AgentSummary[]> {
  const client = new OperatorClient(
    cluster.master.address,
    credentials.createInsecure(),
    clientOptions(cluster.tokens.admin),
  );
  try {
    return (await callUnary<ListAgentsResponse>('the master', (cb) => client.listAgents({}, cb))).agents;
  } finally {
    client.close();
  }
}

function estimate(cpus: number, mem: number): void {
  agent.raw.send({
    message: {
      $case: 'revocableEstimate',
      revocableEstimate: { resources: { cpus, mem, disk: 0, gpus: 0, ports: [] } },
    },
  });
}

beforeAll(async () => {
  cluster = await startSecureMaster(['alice', 'bob']);
  await cluster.grants.grant('alice', 'default', ['container:create']);
  await cluster.grants.grant('bob', 'default', ['container:create']);
  agent = fakeAgent(cluster.master.address, { hostname: 'revocable-host' }, 0, cluster.tokens.agent);
  agentId = await agent.registered;
  taker = rawFramework(
    cluster.master.address,
    { role: '', name: 'taker', capabilities: { values: [FrameworkCapability.REVOCABLE_RESOURCES] } },
    true,
    cluster.tokens.alice,
  );
  other = rawFramework(cluster.master.address, { role: '', name: 'other' }, true, cluster.tokens.bob);
  await Promise.all([taker.frameworkId, other.frameworkId]);
});

afterAll(async () => {
  taker.close();
  other.close();
  agent.close();
  await cluster.stop();
  await stopAll();
});

describe('revocable resources', () => {
  it('offers an estimate as revocable only to the framework that asked for revocable resources', async () => {
    estimate(2000, 2 * GiB);
    const offer = await eventually(
      () => offersOf(taker).find((o) => o.revocable === true),
      15_000,
      'a revocable offer',
    );
    expect(offer.agentId).toBe(agentId);
    expect(offer.resources).toMatchObject({ cpus: 2000, mem: 2 * GiB, disk: 0 });
    // Declined for a minute: were the other framework eligible, the next passes would offer it to it.
    await taker.call({
      call: { $case: 'decline', decline: { offerIds: [offer.id], filters: { refuseSeconds: 60 } } },
    });
    await new Promise((r) => setTimeout(r, 2500));
    expect(offersOf(other).some((o) => o.revocable === true)).toBe(false);
    // REVIVE lifts the taker's filter: it is offered the revocable resources again.
    const seen = offersOf(taker).filter((o) => o.revocable === true).length;
    await taker.call({ call: { $case: 'revive', revive: { roles: [] } } });
    await eventually(
      () => offersOf(taker).filter((o) => o.revocable === true).length > seen,
      15_000,
      'a revocable offer after REVIVE',
    );
  });

  it('refuses an on_revocable task on a regular offer', async () => {
    const regular = await eventually(
      () => offersOf(taker).find((o) => o.revocable !== true && (o.resources?.cpus ?? 0) >= 500),
      15_000,
      'a regular offer',
    );
    const refused = await taker
      .call({
        call: {
          $case: 'accept',
          accept: {
            offerIds: [regular.id],
            operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task('sneaky', true)] } } }],
          },
        },
      })
      .then(
        () => undefined,
        (error: unknown) => error as GalaxyError,
      );
    expect(refused?.code).toBe('GALAXY_E_REVOCABLE_MISMATCH');
    expect(agent.running.has(`${await taker.frameworkId}/sneaky`)).toBe(false);
  });

  it('refuses a regular task on a revocable offer, launching nothing, then takes an on_revocable one', async () => {
    const offer = offersOf(taker)
      .filter((o) => o.revocable === true)
      .at(-1);
    expect(offer).toBeDefined();
    const accept = (t: TaskInfo) =>
      taker.call({
        call: {
          $case: 'accept',
          accept: {
            offerIds: [offer?.id ?? ''],
            operations: [{ operation: { $case: 'launch', launch: { taskInfos: [t] } } }],
          },
        },
      });
    const refused = await accept(task('slipped', false)).then(
      () => undefined,
      (error: unknown) => error as GalaxyError,
    );
    expect(refused?.code).toBe('GALAXY_E_REVOCABLE_MISMATCH');
    expect(refused?.message).toMatch(/does not set on_revocable/);
    expect(agent.running.size).toBe(0);
    expect((await cluster.tasks('admin')).map((t) => t.taskId)).not.toContain('slipped');

    // The same offer is still outstanding: the refusal changed nothing. The taker gives back its
    // regular offers first, so that its dominant share shows what its tasks hold.
    for (const regular of offersOf(taker).filter((o) => o.revocable !== true))
      await taker
        .call({ call: { $case: 'decline', decline: { offerIds: [regular.id], filters: { refuseSeconds: 600 } } } })
        .catch(() => undefined);
    await accept(task('lent', true));
    await eventually(() => agent.running.size === 1, 10_000, 'the task on the agent');
    expect([...agent.running.values()][0]?.onRevocable).toBe(true);
    const summary = await eventually(
      async () => (await agents()).find((a) => a.info?.id === agentId && (a.revocableUsed?.cpus ?? 0) > 0),
      10_000,
      'revocable usage in the listing',
    );
    expect(summary.revocableUsed).toMatchObject({ cpus: 500, mem: 128 * MiB });
    // Not counted as regular usage, nor in the framework's dominant share (it holds no regular offer).
    expect(summary.used?.cpus).toBe(0);
    const listed = (await cluster.frameworks('alice')).find((f) => f.info?.name === 'taker');
    expect(listed?.dominantShare).toBe(0);
    const lent = (await cluster.tasks('admin')).find((t) => t.taskId === 'lent');
    expect(lent?.onRevocable).toBe(true);
  });

  it("clamps an absurd estimate to the agent's total and to 0, with a log line", async () => {
    estimate(1e12, -1);
    const line = await cluster.master.proc.lines.waitFor(
      (l) => l.includes("refused part of the agent's revocable estimate"),
      10_000,
      'the log line',
    );
    expect(line).toMatch(/is more than the agent's total 4000/);
    expect(line).toMatch(/mem -1 is negative/);
    const summary = await eventually(
      async () => (await agents()).find((a) => a.info?.id === agentId && a.revocableEstimate?.cpus === 4000),
      10_000,
      'the clamped estimate',
    );
    expect(summary.revocableEstimate?.mem).toBe(0);
    // With no memory to lend nothing more is offered as revocable.
    const before = offersOf(taker).filter((o) => o.revocable === true).length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(offersOf(taker).filter((o) => o.revocable === true).length).toBe(before);
  });
});
