/**
 * The ZooKeeper coordinator against a real 3-node ensemble: what the contract suite cannot say —
 * sessions ending, a server stopping, and how it is opened. (Quorum loss has a file and an
 * ensemble of its own: zookeeper.quorum.test.ts.)
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { eventually } from '../../test/helpers/async-queue.js';
import { rejectsWith, settlesWithin, useZkEnsemble } from '../../test/helpers/zk-fixture.js';
import type { KeyChange } from './coordinator.js';
import { openCoordinator } from './index.js';
import { ZooKeeperCoordinator, type ZooKeeperOptions } from './zookeeper.js';

const zk = useZkEnsemble();
const open = (options?: ZooKeeperOptions): Promise<ZooKeeperCoordinator> => zk.open(options);
const leaderIndex = (): Promise<number> => zk.leaderIndex();

describe('ZooKeeperCoordinator', () => {
  it('removes a session’s ephemeral keys when it ends, and hands its leadership over', async () => {
    const observer = await open();
    const member = await open();
    const standby = await open();
    const seen: KeyChange[] = [];
    observer.watch('/members', (c) => seen.push(c));
    await member.putEphemeral('/members/m1', 'host-1');
    const lead = await member.elect('/masters', 'm1');
    const pending = standby.elect('/masters', 's1');
    await eventually(async () => (await observer.list('/masters')).length === 2, 3000, "the standby's candidacy");
    expect(await settlesWithin(pending, 100)).toBe(false);

    await member.close();
    expect(member.session.aborted).toBe(true);
    await lead.lost;
    await pending;
    expect(await observer.leader('/masters')).toBe('s1');
    expect(await observer.get('/members/m1')).toBeUndefined();
    await eventually(() => seen.length === 2, 3000, 'the delete');
    expect(seen).toEqual([
      { key: '/members/m1', value: 'host-1' },
      { key: '/members/m1', value: undefined },
    ]);
    await rejectsWith(member.put('/x', 'y'), 'GALAXY_E_COORD_UNAVAILABLE');
  });

  it('keeps values UTF-8 and refuses keys under an ephemeral key', async () => {
    const coord = await open();
    await coord.put('/text', 'grüße\n{"a":1} ✓');
    expect(await coord.get('/text')).toEqual({ value: 'grüße\n{"a":1} ✓', version: 0 });
    await coord.putEphemeral('/eph', 'x');
    await rejectsWith(coord.put('/eph/child', 'y'), 'GALAXY_E_INVALID_ARGUMENT');
  });

  it('opens zk:// URLs, under /galaxy by default, and refuses bad connect strings and chroots', async () => {
    const viaUrl = await openCoordinator(`zk://${zk.ensemble().connectString}`);
    const chrooted = await openCoordinator(`zk://${zk.ensemble().connectString}/zk-url/nested`);
    try {
      expect(viaUrl.description).toBe(`zk://${zk.ensemble().connectString}/galaxy`);
      await viaUrl.put(`/url-${String(process.pid)}`, 'default');
      const direct = await open({ chroot: '/galaxy' });
      expect(await direct.get(`/url-${String(process.pid)}`)).toEqual({ value: 'default', version: 0 });
      await chrooted.put('/k', 'nested');
      expect(await (await open({ chroot: '/zk-url' })).get('/nested/k')).toEqual({ value: 'nested', version: 0 });
    } finally {
      await Promise.all([viaUrl.close(), chrooted.close()]);
    }
    for (const bad of ['zk://', 'zk://host', 'zk://host:0/x', 'zk://host:99999', 'zk://a:1,,b:2/x', 'zk://h:1 /x']) {
      expect(await rejectsWith(openCoordinator(bad), 'GALAXY_E_INVALID_ARGUMENT')).toMatch(/memory:|host:port/);
    }
    await rejectsWith(openCoordinator(`zk://${zk.ensemble().connectString}/bad chroot`), 'GALAXY_E_INVALID_ARGUMENT');
    await rejectsWith(
      ZooKeeperCoordinator.open(zk.ensemble().connectString, { chroot: '/' }),
      'GALAXY_E_INVALID_ARGUMENT',
    );
  });

  it('fails to open, in bounded time, when no server answers', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const address = server.address();
    await new Promise((r) => server.close(r));
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const started = Date.now();
    const message = await rejectsWith(
      ZooKeeperCoordinator.open(`127.0.0.1:${port}`, { sessionTimeoutMs: 1500 }),
      'GALAXY_E_COORD_UNAVAILABLE',
    );
    expect(message).toMatch(/no ZooKeeper server answered/);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('stopping one server of three changes nothing a client can see', { timeout: 60_000 }, async () => {
    // The npm client takes 2–7 s to move to another server (up to 10 s while the rest of the suite
    // loads both cores); a 30 s session (cut off after 20 s without contact) outlasts that.
    const coord = await open({ sessionTimeoutMs: 30_000 });
    const standby = await open({ sessionTimeoutMs: 30_000 });
    await coord.put('/k', 'before');
    const lead = await coord.elect('/masters', 'a');
    const seen: KeyChange[] = [];
    standby.watch('/k', (c) => seen.push(c));
    // The leading server: its loss makes the others elect again, so every client reconnects.
    const stopped = await leaderIndex();
    await zk.ensemble().stopNode(stopped);
    try {
      expect(await coord.put('/k', 'during')).toBe(1);
      expect(await standby.get('/k')).toEqual({ value: 'during', version: 1 });
      await eventually(() => seen.length === 1, 20_000, 'the write seen by the watch');
      expect(seen).toEqual([{ key: '/k', value: 'during' }]);
      expect(await settlesWithin(lead.lost, 200)).toBe(false);
      expect(coord.session.aborted || standby.session.aborted).toBe(false);
      expect(await standby.leader('/masters')).toBe('a');
    } finally {
      await zk.ensemble().startNode(stopped);
    }
  });
});
