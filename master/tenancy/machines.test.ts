/**
 * Pools, labels and machine modes on a real in-process master over gRPC, driven by raw agents
 * and frameworks: what offers carry and when they stop, what frameworks are told, what
 * `galaxy agents` lists, who may change it, and that it all comes back after a failover.
 */
import { Metadata } from '@grpc/grpc-js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setPrincipal } from '../../core/auth/principal.js';
import { MemoryCoordinator } from '../../core/coordinator/memory.js';
import { createLogger } from '../../core/logger.js';
import { loadAllocator } from '../../allocators/index.js';
import { operatorClient, type Operator } from '../../cli/operator-client.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../../test/helpers/raw-clients.js';
import { machinesOperatorApi } from '../api/machines-api.js';
import { Master, startMaster } from '../master.js';
import { attachTenancyState } from '../registry/tenancy-state.js';

let master: Master;
let op: Operator;
const open: { close(): void }[] = [];

const TIMINGS = { allocationIntervalMs: 100, offerTimeoutMs: 0, statusRetryMs: 200 };

function agent(info: Parameters<typeof rawAgent>[1]): RawAgent {
  const a = rawAgent(master.address, { reservations: [], ...info });
  open.push(a);
  return a;
}
function framework(name: string): RawFramework {
  const f = rawFramework(master.address, { name, user: name });
  open.push(f);
  return f;
}
const offersOf = (e: Event): Offer[] => (e.event?.$case === 'offers' ? e.event.offers.offers : []);
async function offerFor(fw: RawFramework, agentId: string, match: (o: Offer) => boolean = () => true): Promise<Offer> {
  const event = await fw.events.waitFor(
    (e) => offersOf(e).some((o) => o.agentId === agentId && match(o)),
    10_000,
    `an offer of ${agentId}`,
  );
  const offer = offersOf(event).find((o) => o.agentId === agentId && match(o));
  if (!offer) throw new Error('unreachable');
  return offer;
}
const draining = (agentId: string, value: boolean) => (e: Event) =>
  e.event?.$case === 'agentDraining' &&
  e.event.agentDraining.agentId === agentId &&
  e.event.agentDraining.draining === value;

beforeEach(async () => {
  master = await startMaster({ listen: '127.0.0.1:0', insecureNoAuth: true, logLevel: 'silent', timings: TIMINGS });
  op = operatorClient(master.address);
});

afterEach(async () => {
  op.close();
  for (const c of open.splice(0)) c.close();
  await master.stop();
});

describe('pools', () => {
  it('adds, lists, assigns and refuses to remove a pool that agents are in', async () => {
    const a = agent({ hostname: 'h1', pool: 'legacy' });
    const id = await a.registered;
    const fw = framework('alice');
    expect((await offerFor(fw, id)).pool).toBe('legacy');
    // The agent's own pool is unknown to the registry: admitted into it, and listed.
    const before = await op.listPools({}).then((r) => r.pools);
    expect(before.find((p) => p.name === 'legacy')).toMatchObject({ registered: false, agents: [id] });

    await op.addPool({ name: 'gpu', description: 'machines with GPUs' }).then((r) => r.pool);
    await expect(op.addPool({ name: 'gpu', description: '' }).then((r) => r.pool)).rejects.toMatchObject({
      code: 'GALAXY_E_POOL_DUPLICATE',
    });
    await expect(op.assignAgentPool({ agentId: id, pool: 'nope' })).rejects.toMatchObject({
      code: 'GALAXY_E_POOL_UNKNOWN',
    });
    fw.events.clear();
    await op.assignAgentPool({ agentId: id, pool: 'gpu' });
    // Outstanding offers are rescinded; new ones carry the new pool.
    await fw.events.waitFor((e) => e.event?.$case === 'rescind', 5000, 'RESCIND');
    expect((await offerFor(fw, id, (o) => o.pool === 'gpu')).pool).toBe('gpu');
    const agents = await op.listAgents({}).then((r) => r.agents);
    expect(agents[0]?.info?.pool).toBe('gpu');
    await expect(op.removePool({ name: 'gpu' })).rejects.toMatchObject({ code: 'GALAXY_E_POOL_IN_USE' });
    await op.assignAgentPool({ agentId: id, pool: 'default' });
    await op.removePool({ name: 'gpu' });
    expect((await op.listPools({}).then((r) => r.pools)).map((p) => p.name)).not.toContain('gpu');
  });
});

describe('labels', () => {
  it('adds labels to the attributes offers carry, replaces a key and removes it', async () => {
    const a = agent({ hostname: 'h1', attributes: [{ key: 'rack', value: 'r1' }] });
    const id = await a.registered;
    const fw = framework('alice');
    await offerFor(fw, id);
    expect(await op.addAgentLabel({ agentId: id, label: 'ssd' }).then((r) => r.labels)).toEqual(['ssd']);
    expect(await op.addAgentLabel({ agentId: id, label: 'rack=r9' }).then((r) => r.labels)).toEqual(['ssd', 'rack=r9']);
    const offer = await offerFor(fw, id, (o) => o.attributes.some((l) => l.value === 'r9'));
    expect(offer.attributes).toEqual([
      { key: 'ssd', value: 'true' },
      { key: 'rack', value: 'r9' },
    ]);
    expect(await op.listAgentLabels({ agentId: id }).then((r) => r.agents)).toEqual([
      { agentId: id, labels: ['ssd', 'rack=r9'] },
    ]);
    expect((await op.listAgents({}).then((r) => r.agents))[0]?.labels).toEqual(['ssd', 'rack=r9']);
    await expect(op.addAgentLabel({ agentId: id, label: 'bad key' }).then((r) => r.labels)).rejects.toMatchObject({
      code: 'GALAXY_E_INVALID_ARGUMENT',
    });
    await expect(op.addAgentLabel({ agentId: 'agent-nope', label: 'x' }).then((r) => r.labels)).rejects.toMatchObject({
      code: 'GALAXY_E_AGENT_UNKNOWN',
    });
    fw.events.clear();
    expect(await op.removeAgentLabel({ agentId: id, label: 'rack' }).then((r) => r.labels)).toEqual(['ssd']);
    const after = await offerFor(fw, id, (o) => !o.attributes.some((l) => l.value === 'r9'));
    expect(after.attributes).toEqual([
      { key: 'rack', value: 'r1' },
      { key: 'ssd', value: 'true' },
    ]);
  });
});

describe('machine modes', () => {
  it('offline stops offers but keeps running tasks; online offers again', async () => {
    const a = agent({ hostname: 'h1' });
    const id = await a.registered;
    const fw = framework('alice');
    const offer = await offerFor(fw, id);
    await fw.call({
      call: {
        $case: 'accept',
        accept: {
          offerIds: [offer.id],
          operations: [{ operation: { $case: 'launch', launch: { taskInfos: [sleeper('t1')] } } }],
          filters: { refuseSeconds: 0 },
        },
      },
    });
    await a.received.waitFor((m) => m.message?.$case === 'runTask', 5000, 'RUN_TASK');
    await offerFor(fw, id, (o) => o.id !== offer.id); // the rest of the agent, offered again
    fw.events.clear();
    await op.setAgentMode({ agentId: id, mode: 'offline' });
    await fw.events.waitFor((e) => e.event?.$case === 'rescind', 5000, 'RESCIND of the offline agent');
    await new Promise((r) => setTimeout(r, 500)); // several allocation passes
    expect(fw.events.items.some((e) => offersOf(e).some((o) => o.agentId === id))).toBe(false);
    expect(a.received.items.some((m) => m.message?.$case === 'killTask')).toBe(false);
    const listed = await op.listAgents({}).then((r) => r.agents);
    expect(listed[0]).toMatchObject({ mode: 'offline', tasks: 1 });
    await op.setAgentMode({ agentId: id, mode: 'online' });
    await offerFor(fw, id);
  });

  it('drain tells every framework, also one that subscribes later; online ends the drain', async () => {
    const a = agent({ hostname: 'h1' });
    const b = agent({ hostname: 'h2' });
    const [idA, idB] = [await a.registered, await b.registered];
    const early = framework('alice');
    await offerFor(early, idA);
    await op.setAgentMode({ agentId: idA, mode: 'draining' });
    await early.events.waitFor(draining(idA, true), 5000, 'AgentDraining');
    const late = framework('bob');
    await late.events.waitFor(draining(idA, true), 5000, 'AgentDraining after SUBSCRIBED');
    early.events.clear();
    await new Promise((r) => setTimeout(r, 400));
    // The draining agent is offered to nobody; the other still is.
    expect(early.events.items.some((e) => offersOf(e).some((o) => o.agentId === idA))).toBe(false);
    expect((await op.listAgents({}).then((r) => r.agents)).find((x) => x.info?.id === idA)?.mode).toBe('draining');
    await op.setAgentMode({ agentId: idA, mode: 'online' });
    await early.events.waitFor(draining(idA, false), 5000, 'AgentDraining(false)');
    await late.events.waitFor(draining(idA, false), 5000, 'AgentDraining(false)');
    expect(idB).not.toBe(idA);
  });

  it('refuses callers who are not admins', async () => {
    const api = machinesOperatorApi(master.machines, master.accounting);
    const call = { request: { agentId: 'x', mode: 'offline' }, metadata: new Metadata() };
    setPrincipal(call, { user: 'bob', admin: false, kind: 'user' });
    const error = await new Promise((resolve) => {
      api.setAgentMode(call as never, (err) => {
        resolve(err);
      });
    });
    expect(String((error as { details?: string }).details)).toContain('GALAXY_E_PERMISSION_DENIED');
    const own = { request: { user: 'alice', pool: '', sinceS: 0 }, metadata: new Metadata() };
    setPrincipal(own, { user: 'bob', admin: false, kind: 'user' });
    const denied = await new Promise((resolve) => {
      api.getAccounting(own as never, (err) => {
        resolve(err);
      });
    });
    expect(String((denied as { details?: string }).details)).toContain('GALAXY_E_PERMISSION_DENIED');
  });
});

describe('after a failover', () => {
  it('re-applies pools, labels and modes from the store when agents re-register', async () => {
    const coordinator = new MemoryCoordinator();
    const log = createLogger('master', 'silent');
    const first = new Master(
      await loadAllocator('drf', {}),
      { listen: '127.0.0.1:0', insecureNoAuth: true, timings: TIMINGS },
      log,
    );
    await attachTenancyState(first, coordinator, log);
    await first.start();
    const a1 = rawAgent(first.address, { hostname: 'h1', reservations: [] });
    const id = await a1.registered;
    await new Promise((r) => setTimeout(r, 50));
    const firstOp = operatorClient(first.address);
    await firstOp.addPool({ name: 'gpu', description: '' }).then((r) => r.pool);
    await firstOp.assignAgentPool({ agentId: id, pool: 'gpu' });
    await firstOp.addAgentLabel({ agentId: id, label: 'zone=z1' }).then((r) => r.labels);
    await firstOp.setAgentMode({ agentId: id, mode: 'draining' });
    firstOp.close();
    a1.close();
    await first.stop();
    await new Promise((r) => setTimeout(r, 100)); // the serial writer finishes

    const second = new Master(
      await loadAllocator('drf', {}),
      { listen: '127.0.0.1:0', insecureNoAuth: true, timings: TIMINGS },
      log,
    );
    await attachTenancyState(second, coordinator, log);
    await second.start();
    try {
      const fw = rawFramework(second.address, { name: 'alice' });
      open.push(fw);
      // Frameworks hear of the drain as soon as they subscribe.
      await fw.events.waitFor(draining(id, true), 5000, 'AgentDraining from the new leader');
      const back = rawAgent(second.address, { id, hostname: 'h1', reservations: [] });
      open.push(back);
      await back.registered;
      const secondOp = operatorClient(second.address);
      try {
        const listed = await secondOp.listAgents({}).then((r) => r.agents);
        expect(listed[0]).toMatchObject({ mode: 'draining', labels: ['zone=z1'] });
        expect(listed[0]?.info?.pool).toBe('gpu');
        expect(listed[0]?.info?.attributes).toContainEqual({ key: 'zone', value: 'z1' });
        await secondOp.setAgentMode({ agentId: id, mode: 'online' });
        const offer = await offerFor(fw, id);
        expect(offer.pool).toBe('gpu');
        expect(offer.attributes).toContainEqual({ key: 'zone', value: 'z1' });
      } finally {
        secondOp.close();
      }
    } finally {
      await second.stop();
      await coordinator.close();
    }
  });
});

function sleeper(taskId: string) {
  return {
    taskId,
    name: taskId,
    agentId: '',
    resources: { cpus: 500, mem: 64 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'sleep 60', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  } as never;
}
