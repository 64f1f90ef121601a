/**
 * The cluster secret on a real ZooKeeper server: every znode from the chroot down carries Galaxy's
 * ACL only, a client without the secret (or with another) can do nothing with them, a Galaxy
 * process without it is refused at open, and a value nobody sealed reads as no value.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rejectsWith, useZkEnsemble } from '../../test/helpers/zk-fixture.js';
import { OPEN_ACL, rawZk, zkCode, type RawZk } from '../../test/helpers/zk-raw-client.js';
import { openCoordinator } from './index.js';
import { ZK } from './zookeeper-session.js';
import { ZkSecret } from './zookeeper-secret.js';

const zk = useZkEnsemble(1);
const secret = new ZkSecret(randomBytes(32));
let dir: string;
let chroots = 0;
const clients: RawZk[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-zk-acl-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

/** A bare client: with `credential`, authenticated as that digest user. */
async function raw(credential?: string): Promise<RawZk> {
  const client = await rawZk(zk.ensemble().connectString, credential);
  clients.push(client);
  return client;
}

/** Every znode path from `path` down. */
async function tree(client: RawZk, path: string): Promise<string[]> {
  const children = await client.get_children(path, false);
  const below = await Promise.all(children.map((c) => tree(client, `${path}/${c}`)));
  return [path, ...below.flat()];
}

/** A fresh chroot for a test that opens coordinators by URL. */
const chroot = (): string => `/acl-${++chroots}`;

describe('a coordinator with the cluster secret', () => {
  it('puts every znode from the chroot down under Galaxy’s ACL, and nothing above it', async () => {
    const coord = await zk.open({ chroot: '/above/galaxy', secret });
    await coord.put('/jobs/web', '{"replicas":3}');
    await coord.putEphemeral('/members/m1', 'host-1');
    await coord.put('/jobs/web/pods/0', 'pod');
    const lead = await coord.elect('/election/appmaster', '10.0.0.1:5060');
    const admin = await raw(secret.credential);
    const paths = await tree(admin, '/above/galaxy');
    expect(paths).toEqual(expect.arrayContaining(['/above/galaxy/jobs/web/pods/0', '/above/galaxy/members/m1']));
    expect(paths.length).toBeGreaterThan(6);
    for (const path of paths) expect(secret.owns((await admin.get_acl(path))[0]), path).toBe(true);
    expect((await admin.get_acl('/above'))[0]).toEqual(OPEN_ACL);
    await lead.resign();
  });

  it('refuses a client without the secret, or with another, everything but knowing a znode exists', async () => {
    const coord = await zk.open({ chroot: '/galaxy', secret });
    await coord.put('/users/admin', '{"admin":true,"tokenSha256":"…"}');
    const root = '/galaxy';
    const users = `${root}/users`;
    const admin = `${users}/admin`;
    const before = await Promise.all([coord.get('/users/admin'), coord.list('/users')]);
    // (Not get_acl: the npm client kills its process when ZooKeeper refuses that one.)
    for (const attacker of [await raw(), await raw(`galaxy:${randomBytes(16).toString('base64url')}`)]) {
      expect(await zkCode(attacker.get_children(root, false))).toBe(ZK.NOAUTH);
      expect(await zkCode(attacker.get(admin, false))).toBe(ZK.NOAUTH);
      expect(await zkCode(attacker.set(admin, '{"admin":true}', -1))).toBe(ZK.NOAUTH);
      expect(await zkCode(attacker.create(`${users}/mallory`, '{"admin":true}', 0))).toBe(ZK.NOAUTH);
      expect(await zkCode(attacker.delete_(admin, -1))).toBe(ZK.NOAUTH);
      expect(await zkCode(attacker.set_acl(admin, -1, OPEN_ACL))).toBe(ZK.NOAUTH);
      // ZooKeeper checks no ACL for `exists`: a guessed path's existence is all that shows.
      expect((await attacker.exists(admin, false)).aversion).toBe(1);
    }
    expect(await Promise.all([coord.get('/users/admin'), coord.list('/users')])).toEqual(before);
  });

  it('refuses to open without the secret, with another, or on a chroot made without it', async () => {
    const connect = zk.ensemble().connectString;
    const path = chroot();
    const good = join(dir, 'good.secret');
    const other = join(dir, 'other.secret');
    await writeFile(good, `${randomBytes(24).toString('base64')}\n`, { mode: 0o600 });
    await writeFile(other, randomBytes(24).toString('base64'), { mode: 0o600 });
    const coord = await openCoordinator(`zk://${connect}${path}?session=4000ms&secret=${good}`);
    await coord.put('/k', 'v');
    expect(await rejectsWith(openCoordinator(`zk://${connect}${path}`), 'GALAXY_E_COORD_DENIED')).toMatch(
      /is protected by a cluster secret: add \?secret=<file>/,
    );
    expect(
      await rejectsWith(openCoordinator(`zk://${connect}${path}?secret=${other}`), 'GALAXY_E_COORD_DENIED'),
    ).toMatch(/protected by another secret/);
    // The same file again: the same secret.
    const again = await openCoordinator(`zk://${connect}${path}?secret=${good}&session=4000ms`);
    expect(await again.get('/k')).toEqual({ value: 'v', version: 0 });
    await Promise.all([coord.close(), again.close()]);

    const open = chroot();
    await (await openCoordinator(`zk://${connect}${open}`)).close();
    expect(
      await rejectsWith(openCoordinator(`zk://${connect}${open}?secret=${good}`), 'GALAXY_E_COORD_DENIED'),
    ).toMatch(/made without the cluster secret/);
  });

  it('reads a value nobody sealed as no value, writes over it, and secures a znode left world-open', async () => {
    const coord = await zk.open({ chroot: '/galaxy', secret });
    await coord.put('/users/admin', 'sealed');
    const admin = await raw(secret.credential);
    // Someone holding the credential but not the MAC key (or the creation window) forges a value.
    await admin.set('/galaxy/users/admin', '0\n{"admin":true}', -1);
    expect(await coord.get('/users/admin')).toBeUndefined();
    expect(await coord.put('/users/admin', 'sealed again')).toBe(0);
    expect(await coord.get('/users/admin')).toEqual({ value: 'sealed again', version: 0 });

    // A znode created but never secured (its maker died in between; the npm client creates
    // world-open znodes): anyone may write it until Galaxy next writes it, and then no one.
    await admin.create('/galaxy/users/bob', '', 0);
    const attacker = await raw();
    await attacker.set('/galaxy/users/bob', '0\n{"admin":true}', -1);
    expect(await coord.get('/users/bob')).toBeUndefined();
    await coord.put('/users/bob', '{"admin":false}');
    expect(secret.owns((await admin.get_acl('/galaxy/users/bob'))[0])).toBe(true);
    expect(await zkCode(attacker.set('/galaxy/users/bob', 'x', -1))).toBe(ZK.NOAUTH);
    expect(await coord.get('/users/bob')).toEqual({ value: '{"admin":false}', version: 0 });
  });

  it('takes the secret from a private file of at least 16 bytes, and no other way', async () => {
    const open = join(dir, 'open.secret');
    const short = join(dir, 'short.secret');
    await writeFile(open, randomBytes(24).toString('base64'));
    await chmod(open, 0o644);
    await writeFile(short, 'tooshort\n', { mode: 0o600 });
    expect(await rejectsWith(ZkSecret.load(open), 'GALAXY_E_INVALID_ARGUMENT')).toMatch(
      /readable by others.*chmod 600/,
    );
    expect(await rejectsWith(ZkSecret.load(short), 'GALAXY_E_INVALID_ARGUMENT')).toMatch(/fewer than 16 bytes/);
    expect(await rejectsWith(ZkSecret.load(join(dir, 'missing')), 'GALAXY_E_INVALID_ARGUMENT')).toMatch(
      /not a readable file/,
    );
    const connect = zk.ensemble().connectString;
    for (const bad of [`zk://${connect}/x?secret=relative/file`, `zk://${connect}/x?password=abc`]) {
      expect(await rejectsWith(openCoordinator(bad), 'GALAXY_E_INVALID_ARGUMENT')).toMatch(/secret=\/abs\/file/);
    }
  });
});
