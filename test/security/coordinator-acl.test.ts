/**
 * Attack: rewriting Galaxy's state in ZooKeeper from outside Galaxy's daemons — what a pod could
 * do while it was told the coordinator's address. A real `galaxy master` runs on a real ZooKeeper
 * with the cluster secret (`zk://…?secret=<file>`). An attacker who can reach ZooKeeper, but holds
 * no secret, tries Galaxy's own client (refused at open with GALAXY_E_COORD_DENIED naming the fix)
 * and a bare ZooKeeper client (every read, write, create, delete and re-ACL refused with NOAUTH):
 * it cannot read the user records, make itself admin, or depose the master. Afterwards nothing
 * changed: the users are the same and the master still leads and serves.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorClient } from '../../cli/operator-client.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { leaderOf } from '../../core/coordinator/election.js';
import { ZK } from '../../core/coordinator/zookeeper-session.js';
import { isGalaxyError } from '../../core/errors.js';
import { MASTER_GROUP } from '../../core/leader-locator.js';
import { UserStore } from '../../core/tenancy/users.js';
import { userKey } from '../../core/tenancy/keys.js';
import { bootstrapAdminToken } from '../helpers/identity.js';
import { galaxy, type GalaxyProcess } from '../helpers/processes.js';
import { OPEN_ACL, rawZk, zkCode, type RawZk } from '../helpers/zk-raw-client.js';
import { startZkEnsemble, type ZkEnsemble } from '../helpers/zk-ensemble.js';

let zk: ZkEnsemble;
let dir: string;
let chroot: string;
let url: string;
let token: string;
let master: GalaxyProcess;
let address: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-coordinator-acl-'));
  zk = await startZkEnsemble(1);
  const secret = join(dir, 'cluster.secret');
  await writeFile(secret, randomBytes(32).toString('base64'), { mode: 0o600 });
  chroot = `/galaxy-${randomBytes(4).toString('hex')}`;
  url = `zk://${zk.connectString}${chroot}?session=4000ms&secret=${secret}`;
  token = await bootstrapAdminToken(url);
  master = galaxy(['master', '--listen', '127.0.0.1:0', '--coordinator', url], { GALAXY_TOKEN: token });
  const line = await master.lines.waitFor((l) => /^master \S+ contending/.test(l), 30_000, 'the master to contend');
  address = line.split(' ')[1] ?? '';
  await master.lines.waitFor((l) => /^master \S+ leads/.test(l), 30_000, 'the master to lead');
}, 90_000);

afterAll(async () => {
  await master.stop();
  await zk.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The user records and the master's candidacy, as Galaxy (with the secret) reads them. */
async function state(): Promise<unknown> {
  const coordinator = await openCoordinator(url);
  try {
    const users = await UserStore.open(coordinator);
    try {
      return {
        users: await users.list(),
        admin: await coordinator.get(userKey('admin')),
        leader: await leaderOf(coordinator, MASTER_GROUP),
      };
    } finally {
      users.close();
    }
  } finally {
    await coordinator.close();
  }
}

describe('an attacker who can reach ZooKeeper but holds no cluster secret', () => {
  it('is refused by Galaxy’s own client at open, with the fix named', async () => {
    const before = await state();
    const stolen = url.slice(0, url.indexOf('&secret='));
    const error: unknown = await openCoordinator(stolen).catch((e: unknown) => e);
    expect(isGalaxyError(error, 'GALAXY_E_COORD_DENIED'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/protected by a cluster secret: add \?secret=<file>/);
    expect(await state()).toEqual(before);
  });

  it('can neither read the users, make itself admin, nor depose the master with a bare client', async () => {
    const before = await state();
    const users = `${chroot}${userKey('admin').slice(0, userKey('admin').lastIndexOf('/'))}`;
    const admin = `${chroot}${userKey('admin')}`;
    const election = `${chroot}${MASTER_GROUP}`;
    const clients: RawZk[] = [];
    try {
      for (const credential of [undefined, `galaxy:${randomBytes(16).toString('base64url')}`]) {
        const attacker = await rawZk(zk.connectString, credential);
        clients.push(attacker);
        expect(await zkCode(attacker.get_children(chroot, false))).toBe(ZK.NOAUTH);
        expect(await zkCode(attacker.get(admin, false)), 'the admin record (token hashes)').toBe(ZK.NOAUTH);
        const mallory = JSON.stringify({ name: 'mallory', admin: true, tokens: [] });
        expect(await zkCode(attacker.create(`${users}/mallory`, mallory, 0))).toBe(ZK.NOAUTH);
        expect(await zkCode(attacker.set(admin, mallory, -1))).toBe(ZK.NOAUTH);
        expect(await zkCode(attacker.delete_(admin, -1))).toBe(ZK.NOAUTH);
        const candidates = await attacker.get_children(election, false).catch(() => ['c-0000000001']);
        for (const candidate of candidates)
          expect(await zkCode(attacker.delete_(`${election}/${candidate}`, -1)), 'the master’s candidacy').toBe(
            ZK.NOAUTH,
          );
        expect(await zkCode(attacker.set_acl(chroot, -1, OPEN_ACL))).toBe(ZK.NOAUTH);
      }
    } finally {
      for (const client of clients) client.close();
    }
    expect(await state()).toEqual(before);
    // The master still leads, and serves the admin.
    const op = operatorClient(address, token);
    try {
      expect(await op.getWeights({}).then((r) => r.weights)).toEqual(expect.any(Array));
    } finally {
      op.close();
    }
  });
});
