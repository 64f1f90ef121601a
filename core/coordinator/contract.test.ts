/**
 * The Coordinator contract, run against every backend: what the AppMaster and the masters may
 * rely on whichever backend they are given. Several sessions on one store (memory) or one
 * directory (local) stand for several processes. ZooKeeper runs it twice: open, and with a
 * cluster secret (ACLs on every znode, sealed values).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isGalaxyError, type ErrorCode } from '../errors.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { startZkEnsemble, type ZkEnsemble } from '../../test/helpers/zk-ensemble.js';
import { MAX_VALUE_BYTES, type Coordinator, type KeyChange } from './coordinator.js';
import { LocalCoordinator } from './local.js';
import { MemoryCoordinator, MemoryStore } from './memory.js';
import { ZooKeeperCoordinator } from './zookeeper.js';
import { ZkSecret } from './zookeeper-secret.js';

/** One ZooKeeper ensemble for the whole file; each test gets a fresh chroot on it. */
let ensemble: ZkEnsemble | undefined;
let chroots = 0;

beforeAll(async () => {
  ensemble = await startZkEnsemble(3);
}, 60_000);

afterAll(async () => {
  await ensemble?.stop();
});

interface Backend {
  readonly name: string;
  /** Prepares a fresh store; `session()` then opens sessions on it. */
  setup(): Promise<{ session: () => Promise<Coordinator>; teardown: () => Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'memory',
    setup: () => {
      const store = new MemoryStore();
      return Promise.resolve({
        session: () => Promise.resolve(new MemoryCoordinator(store)),
        teardown: () => Promise.resolve(),
      });
    },
  },
  {
    name: 'local',
    setup: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'galaxy-coord-'));
      return { session: () => LocalCoordinator.open(dir), teardown: () => rm(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'zookeeper',
    setup: () => {
      const zk = ensemble;
      if (zk === undefined) throw new Error('the ZooKeeper ensemble did not start');
      const chroot = `/contract-${++chroots}`;
      return Promise.resolve({
        session: () => ZooKeeperCoordinator.open(zk.connectString, { chroot }),
        teardown: () => Promise.resolve(),
      });
    },
  },
  {
    // Every znode under Galaxy's ACL, every value sealed (zookeeper-secret.ts): the same contract.
    name: 'zookeeper with a cluster secret',
    setup: () => {
      const zk = ensemble;
      if (zk === undefined) throw new Error('the ZooKeeper ensemble did not start');
      const chroot = `/contract-${++chroots}`;
      const secret = new ZkSecret(randomBytes(32));
      return Promise.resolve({
        session: () => ZooKeeperCoordinator.open(zk.connectString, { chroot, secret }),
        teardown: () => Promise.resolve(),
      });
    },
  },
];

/** Expects `promise` to reject with a GalaxyError of `code`. */
async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isGalaxyError(error, code), `expected ${code}, got ${String(error)}`).toBe(true);
}

/** Whether `promise` has settled after the event loop had a chance to run. */
async function settled(promise: Promise<unknown>, waitMs = 50): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setTimeout(r, waitMs));
  return done;
}

describe.each(backends)('Coordinator contract: $name backend', (backend) => {
  let session: () => Promise<Coordinator>;
  let teardown: () => Promise<void>;
  const opened: Coordinator[] = [];
  let coord: Coordinator;

  const open = async (): Promise<Coordinator> => {
    const c = await session();
    opened.push(c);
    return c;
  };

  beforeEach(async () => {
    ({ session, teardown } = await backend.setup());
    coord = await open();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
    await teardown();
  });

  it('stores values with versions that start at 0 and grow by 1 per write', async () => {
    expect(await coord.get('/jobs/web')).toBeUndefined();
    expect(await coord.put('/jobs/web', 'v0')).toBe(0);
    expect(await coord.put('/jobs/web', 'v1')).toBe(1);
    expect(await coord.get('/jobs/web')).toEqual({ value: 'v1', version: 1 });
    const other = await open();
    expect(await other.get('/jobs/web')).toEqual({ value: 'v1', version: 1 });
  });

  it('compare-and-set writes only at the expected version; -1 creates only', async () => {
    expect(await coord.put('/cas', 'a', { expectedVersion: -1 })).toBe(0);
    await rejectsWith(coord.put('/cas', 'b', { expectedVersion: -1 }), 'GALAXY_E_COORD_CONFLICT');
    expect(await coord.put('/cas', 'b', { expectedVersion: 0 })).toBe(1);
    await rejectsWith(coord.put('/cas', 'c', { expectedVersion: 0 }), 'GALAXY_E_COORD_CONFLICT');
    await rejectsWith(coord.put('/missing', 'c', { expectedVersion: 0 }), 'GALAXY_E_COORD_CONFLICT');
    await rejectsWith(coord.put('/cas', 'c', { expectedVersion: -2 }), 'GALAXY_E_INVALID_ARGUMENT');
    expect(await coord.get('/cas')).toEqual({ value: 'b', version: 1 });
  });

  it('refuses a value larger than a key holds, naming the limit, and writes nothing', async () => {
    await coord.put('/big', 'small');
    const big = 'x'.repeat(MAX_VALUE_BYTES + 1);
    const refusal = await coord.put('/big', big).catch((e: unknown) => e);
    expect(isGalaxyError(refusal, 'GALAXY_E_TOO_LARGE')).toBe(true);
    expect(String(refusal)).toMatch(/\/big: the value is 1000001 bytes; a coordinator key holds at most 1000000 bytes/);
    await rejectsWith(coord.putEphemeral('/big-ephemeral', big), 'GALAXY_E_TOO_LARGE');
    expect(await coord.get('/big')).toEqual({ value: 'small', version: 0 });
    expect(await coord.get('/big-ephemeral')).toBeUndefined();
    // The largest value allowed is stored whole (ZooKeeper takes it too).
    const largest = 'y'.repeat(MAX_VALUE_BYTES);
    expect(await coord.put('/big', largest)).toBe(1);
    expect((await coord.get('/big'))?.value.length).toBe(MAX_VALUE_BYTES);
  });

  it('deletes a key, checking the expected version, and restarts its versions at 0', async () => {
    await coord.put('/d', 'x');
    await coord.put('/d', 'y');
    await rejectsWith(coord.delete('/d', { expectedVersion: 0 }), 'GALAXY_E_COORD_CONFLICT');
    expect(await coord.get('/d')).toEqual({ value: 'y', version: 1 });
    await coord.delete('/d', { expectedVersion: 1 });
    expect(await coord.get('/d')).toBeUndefined();
    await coord.delete('/d');
    expect(await coord.put('/d', 'z')).toBe(0);
  });

  it('keeps a value and children on one key; recursive delete removes the subtree', async () => {
    await coord.put('/t', 'parent');
    await coord.put('/t/a', '1');
    await coord.put('/t/a/deep', '2');
    await coord.put('/t/b', '3');
    await coord.put('/tx', 'sibling');
    await coord.delete('/t/a');
    expect(await coord.get('/t/a')).toBeUndefined();
    expect(await coord.get('/t/a/deep')).toEqual({ value: '2', version: 0 });
    await coord.delete('/t', { recursive: true });
    for (const key of ['/t', '/t/a/deep', '/t/b']) expect(await coord.get(key)).toBeUndefined();
    expect(await coord.list('/t')).toEqual([]);
    expect(await coord.get('/tx')).toEqual({ value: 'sibling', version: 0 });
  });

  it('lists direct children by name, sorted, including those with only descendants', async () => {
    for (const name of ['zeta', 'alpha', 'Mid', '10', '9']) await coord.put(`/l/${name}`, name);
    await coord.put('/l/deep/down', 'x');
    await coord.put('/l', 'own value');
    expect(await coord.list('/l')).toEqual(['10', '9', 'Mid', 'alpha', 'deep', 'zeta']);
    expect(await coord.list('/nothing/here')).toEqual([]);
    expect(await coord.list('/')).toEqual(['l']);
  });

  it('watches creates, writes and deletes under a prefix, in order, until unwatched', async () => {
    const other = await open();
    const seen: KeyChange[] = [];
    const unwatch = coord.watch('/w', (c) => seen.push(c));
    await coord.put('/w/a', '1');
    await other.put('/w/a', '2');
    await coord.put('/w/b/c', '3');
    await coord.put('/wx', 'not under /w');
    await other.delete('/w', { recursive: true });
    const expected: KeyChange[] = [
      { key: '/w/a', value: '1' },
      { key: '/w/a', value: '2' },
      { key: '/w/b/c', value: '3' },
    ];
    await eventually(() => seen.length >= 5, 3000, 'five changes');
    expect(seen.slice(0, 3)).toEqual(expected);
    expect(seen.slice(3).sort((x, y) => x.key.localeCompare(y.key))).toEqual([
      { key: '/w/a', value: undefined },
      { key: '/w/b/c', value: undefined },
    ]);
    unwatch();
    await coord.put('/w/a', 'after');
    await new Promise((r) => setTimeout(r, 400));
    expect(seen).toHaveLength(5);
  });

  it('removes ephemeral keys when their session closes, and tells watchers', async () => {
    const member = await open();
    await member.putEphemeral('/members/m1', 'host-1');
    await member.put('/durable', 'stays');
    expect(await coord.get('/members/m1')).toEqual({ value: 'host-1', version: 0 });
    await rejectsWith(coord.putEphemeral('/members/m1', 'stolen'), 'GALAXY_E_COORD_EXISTS');
    await member.putEphemeral('/members/m1', 'host-1b');
    const seen: KeyChange[] = [];
    coord.watch('/members', (c) => seen.push(c));
    await new Promise((r) => setTimeout(r, 50));
    await member.close();
    // Another session's reads may lag the close on ZooKeeper (its reads are not linearizable).
    await eventually(async () => (await coord.get('/members/m1')) === undefined, 3000, 'the ephemeral key gone');
    expect(await coord.list('/members')).toEqual([]);
    expect(await coord.get('/durable')).toEqual({ value: 'stays', version: 0 });
    await eventually(() => seen.length > 0, 3000, 'the delete');
    expect(seen).toEqual([{ key: '/members/m1', value: undefined }]);
  });

  it('elects candidates in arrival order and hands over on resign and on close', async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    const leadA = await a.elect('/election', 'a');
    expect(await coord.leader('/election')).toBe('a');
    const pendingB = b.elect('/election', 'b');
    await eventually(async () => (await coord.list('/election')).length === 2, 3000, "b's candidacy");
    const pendingC = c.elect('/election', 'c');
    expect(await settled(pendingB)).toBe(false);
    expect(await settled(leadA.lost, 0)).toBe(false);

    await leadA.resign();
    await leadA.lost;
    const leadB = await pendingB;
    expect(await coord.leader('/election')).toBe('b');
    expect(await settled(pendingC)).toBe(false);

    await b.close();
    await leadB.lost;
    await pendingC;
    expect(await coord.leader('/election')).toBe('c');
  });

  it('rejects a pending election when its session closes, and every call after close', async () => {
    const a = await open();
    const b = await open();
    const lead = await a.elect('/e', 'a');
    const pending = b.elect('/e', 'b');
    await eventually(async () => (await coord.list('/e')).length === 2, 3000, "b's candidacy");
    const refused = rejectsWith(pending, 'GALAXY_E_COORD_UNAVAILABLE');
    await b.close();
    await refused;
    await rejectsWith(b.get('/e'), 'GALAXY_E_COORD_UNAVAILABLE');
    expect(() => b.watch('/e', () => undefined)).toThrow(/GALAXY_E_COORD_UNAVAILABLE/);
    expect(await coord.leader('/e')).toBe('a');
    await lead.resign();
    expect(await coord.leader('/e')).toBeUndefined();
  });

  it('refuses malformed keys', async () => {
    const bad = ['relative', '', '/', '/a//b', '/a/', '/a/./b', '/a/../b', '/a b', '/a/#value', `/${'x'.repeat(201)}`];
    bad.push(`/${Array.from({ length: 250 }, () => 'abcd').join('/')}`);
    for (const key of bad) await rejectsWith(coord.put(key, 'v'), 'GALAXY_E_INVALID_ARGUMENT');
    await rejectsWith(coord.get('../etc'), 'GALAXY_E_INVALID_ARGUMENT');
    await rejectsWith(coord.list('a/b'), 'GALAXY_E_INVALID_ARGUMENT');
    expect(() => coord.watch('x', () => undefined)).toThrow(/GALAXY_E_INVALID_ARGUMENT/);
    expect(await coord.put('/ok_.:@-/A9', 'v')).toBe(0);
  });
});
