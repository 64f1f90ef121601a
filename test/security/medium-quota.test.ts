/**
 * A user's quota of a disk medium binds her offers, against a real `galaxy master` (issue 19:
 * quotas count disk per medium). An admin sets alice's limit of 1GiB of ssd through the Operator
 * API; the master's allocator then offers her framework no more than 1GiB of the agent's 4GiB ssd
 * disk, the hdd disk whole, and the sandbox disk only what is really outside the named disks.
 * Without the rule her offers held the whole ssd disk: the quota's `disk` could not say "ssd".
 * Alice cannot set her own quota; bob, with none, is offered the ssd disk whole.
 */
import { credentials } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientOptions } from '../../core/auth/client.js';
import { disksOf } from '../../core/disks.js';
import { callUnary } from '../../core/grpc-errors.js';
import { sandboxDisk } from '../../core/resources.js';
import type { Offer } from '../../proto/gen/galaxy/v1/common.js';
import { OperatorClient, type SetUserQuotaResponse } from '../../proto/gen/galaxy/v1/operator.js';
import { fakeAgent, type FakeAgent } from '../helpers/fake-agent.js';
import { rawFramework, type RawFramework } from '../helpers/raw-clients.js';
import { refusal } from '../helpers/refusal.js';
import { startSecureMaster, type SecureMaster } from '../helpers/secure-master.js';

const GiB = 1024 ** 3;
let cluster: SecureMaster;
let agent: FakeAgent;
const frameworks: RawFramework[] = [];

/** SetUserQuota as `token`'s user. */
async function setQuota(token: string, user: string, ssd: number): Promise<SetUserQuotaResponse> {
  const client = new OperatorClient(cluster.master.address, credentials.createInsecure(), clientOptions(token));
  try {
    return await callUnary<SetUserQuotaResponse>('the master', (cb) =>
      client.setUserQuota({ user, limit: { ssd } }, cb),
    );
  } finally {
    client.close();
  }
}

/** The first offer `user`'s framework gets. */
async function firstOffer(user: string): Promise<Offer> {
  const framework = rawFramework(cluster.master.address, { name: `${user}s`, role: '' }, true, cluster.tokens[user]);
  frameworks.push(framework);
  const event = await framework.events.waitFor(
    (e) => e.event?.$case === 'offers' && e.event.offers.offers.length > 0,
    20_000,
    `an offer for ${user}`,
  );
  const offer = event.event?.$case === 'offers' ? event.event.offers.offers[0] : undefined;
  if (!offer) throw new Error('no offer');
  return offer;
}

/** Bytes per medium of an offer's disk shares. */
function media(offer: Offer): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of disksOf(offer.resources ?? { cpus: 0, mem: 0, disk: 0, gpus: 0, ports: [] }))
    out[d.medium] = (out[d.medium] ?? 0) + d.size;
  return out;
}

beforeAll(async () => {
  cluster = await startSecureMaster(['alice', 'bob']);
  agent = fakeAgent(
    cluster.master.address,
    {
      hostname: 'h1',
      total: {
        cpus: 4000,
        mem: 4 * GiB,
        disk: 7 * GiB,
        gpus: 0,
        ports: [],
        namedDisks: {
          disks: [
            { name: 'ssd1', medium: 'ssd', size: 4 * GiB, capacity: 4 * GiB, exclusive: false },
            { name: 'hdd1', medium: 'hdd', size: 1 * GiB, capacity: 1 * GiB, exclusive: false },
          ],
        },
      },
    },
    0,
    cluster.tokens.agent,
  );
  await agent.registered;
}, 60_000);

afterAll(async () => {
  for (const f of frameworks) f.close();
  agent.close();
  await cluster.stop();
});

describe('a quota of a disk medium', { timeout: 60_000 }, () => {
  it('is set by an admin only, and cuts that medium in the user’s offers', async () => {
    const own = await refusal(setQuota(cluster.tokens.alice ?? '', 'alice', 100 * GiB));
    expect(own.code).toBe('GALAXY_E_PERMISSION_DENIED');
    const set = await setQuota(cluster.tokens.admin ?? '', 'alice', GiB);
    expect(set.quota?.limit).toMatchObject({ ssd: GiB });

    const offer = await firstOffer('alice');
    expect(media(offer)).toEqual({ ssd: GiB, hdd: GiB });
    expect(offer.resources && sandboxDisk(offer.resources)).toBe(2 * GiB);
  });

  it('leaves a user without one the whole medium', async () => {
    for (const f of frameworks) f.close();
    const offer = await firstOffer('bob');
    expect(media(offer).ssd).toBe(4 * GiB);
  });
});
