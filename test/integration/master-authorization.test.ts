/**
 * Authorities on an authenticating master with tenancy state, over real gRPC: a framework
 * launches on an agent of pool P only with `container:create` on P and the authority of its
 * tasks' band there (`band:production` for an unspecified band), and kills only with
 * `container:remove` (a refusal launches and kills nothing); `ListTasks` shows a user only their
 * own tasks, in pools where they hold `container:list`. The framework acts as the user whose
 * token first subscribed it.
 */
import { describe, expect, it } from 'vitest';
import { clientOptions } from '../../core/auth/client.js';
import type { Principal } from '../../core/auth/principal.js';
import { callUnary } from '../../core/grpc-errors.js';
import type { Offer, TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { OperatorClient, type ListTasksResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { rawAgent, rawFramework, type RawAgent, type RawFramework } from '../helpers/raw-clients.js';
import { useTenancyMaster } from '../helpers/tenancy-master.js';
import { channelCredentials } from '../../core/tls.js';

const principals: Record<string, Principal> = {
  'tok-agent': { user: 'agent', admin: false, kind: 'agent', agentId: 'agent-h1' },
  'tok-erin': { user: 'erin', admin: false, kind: 'user' },
  'tok-ops': { user: 'ops', admin: false, kind: 'user' },
  'tok-root': { user: 'root', admin: true, kind: 'user' },
};
const cell = useTenancyMaster(principals);

function task(id: string): TaskInfo {
  return {
    taskId: id,
    name: id,
    agentId: '',
    resources: { cpus: 500, mem: 64 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    command: { shell: 'true', argv: [], env: {}, user: '' },
    labels: [],
    killGraceS: 1,
    volumes: [],
  };
}

function launch(fw: RawFramework, offer: Offer, id: string): Promise<void> {
  return fw.call({
    call: {
      $case: 'accept',
      accept: {
        offerIds: [offer.id],
        operations: [{ operation: { $case: 'launch', launch: { taskInfos: [task(id)] } } }],
      },
    },
  });
}

async function listTasks(token: string): Promise<string[]> {
  const client = new OperatorClient(cell.master.address, channelCredentials(), clientOptions(token));
  cell.closeAfter(() => {
    client.close();
  });
  const response = await callUnary<ListTasksResponse>('the master', (cb) => client.listTasks({ frameworkId: '' }, cb));
  return response.tasks.map((t) => t.taskId);
}

describe('master authorities', { timeout: 30_000 }, () => {
  it('refuses launch and kill without container authorities, then allows them once granted', async () => {
    const agent: RawAgent = rawAgent(cell.master.address, { hostname: 'h1', pool: 'default' }, [], [], 'tok-agent');
    cell.closeAfter(() => {
      agent.close();
    });
    const agentId = await agent.registered;
    const fw = rawFramework(cell.master.address, { name: 'erins', role: 'erin' }, true, 'tok-erin');
    cell.closeAfter(() => {
      fw.close();
    });
    const offer = (await fw.events.waitFor((e) => e.event?.$case === 'offers', 10_000, 'OFFERS')).event;
    if (offer?.$case !== 'offers' || !offer.offers.offers[0]) throw new Error('no offer');
    const first = offer.offers.offers[0];

    await expect(launch(fw, first, 't1')).rejects.toMatchObject({
      code: 'GALAXY_E_PERMISSION_DENIED',
      message: expect.stringMatching(/user erin lacks container:create in pool default/) as unknown,
    });
    expect(cell.master.ctx.tasks.size).toBe(0);

    await cell.grants.grant('erin', 'default', ['container:create']);
    // An unspecified band counts as production, an authority of its own.
    await expect(launch(fw, first, 't1')).rejects.toMatchObject({
      code: 'GALAXY_E_PERMISSION_DENIED',
      message: expect.stringMatching(/user erin lacks band:production in pool default/) as unknown,
    });
    expect(cell.master.ctx.tasks.size).toBe(0);
    await cell.grants.grant('erin', 'default', ['band:production']);
    await launch(fw, first, 't1'); // the refused ACCEPTs left the offer outstanding
    await agent.received.waitFor((m) => m.message?.$case === 'runTask', 5000, 'runTask');

    const kill = () => fw.call({ call: { $case: 'kill', kill: { taskId: 't1', agentId } } });
    await expect(kill()).rejects.toMatchObject({ code: 'GALAXY_E_PERMISSION_DENIED' });
    expect(agent.received.items.some((m) => m.message?.$case === 'killTask')).toBe(false);
    await cell.grants.grant('erin', '*', ['container:remove']);
    await kill();
    await agent.received.waitFor((m) => m.message?.$case === 'killTask', 5000, 'killTask');

    expect(await listTasks('tok-root')).toEqual(['t1']);
    expect(await listTasks('tok-erin')).toEqual([]);
    await cell.grants.grant('erin', 'default', ['container:list']);
    expect(await listTasks('tok-erin')).toEqual(['t1']);
    // Another user's tasks stay hidden, even with container:list in their pool.
    await cell.grants.grant('ops', 'default', ['container:list']);
    expect(await listTasks('tok-ops')).toEqual([]);
  });

  it('refuses a call without a token before it reaches the scheduler API', async () => {
    const fw = rawFramework(cell.master.address, { name: 'anon' });
    cell.closeAfter(() => {
      fw.close();
    });
    expect((await fw.error).code).toBe('GALAXY_E_UNAUTHENTICATED');
  });
});
