/**
 * The ZooKeeper coordinator when the ensemble loses quorum, on an ensemble of its own: sessions
 * and leadership end in bounded time, and service resumes when quorum returns.
 */
import { describe, expect, it } from 'vitest';
import { isGalaxyError } from '../errors.js';
import { rejectsWith, useZkEnsemble } from '../../test/helpers/zk-fixture.js';
import type { ZooKeeperCoordinator, ZooKeeperOptions } from './zookeeper.js';

const zk = useZkEnsemble();
const open = (options?: ZooKeeperOptions): Promise<ZooKeeperCoordinator> => zk.open(options);

/**
 * Opens a session on an ensemble that was just restarted, trying again when no server answered
 * in time: servers that say they serve may still refuse a new client for a while, and the
 * native client then waits up to a third of the timeout before its next try (under load, past
 * the whole timeout). What these tests check begins once a session is open.
 */
async function openAfterRestart(options?: ZooKeeperOptions): Promise<ZooKeeperCoordinator> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open(options);
    } catch (error) {
      if (attempt >= 3 || !isGalaxyError(error, 'GALAXY_E_COORD_UNAVAILABLE')) throw error;
    }
  }
}

describe('ZooKeeperCoordinator without quorum', () => {
  it('losing quorum ends sessions and leadership in bounded time; service resumes when it returns', async () => {
    const sessionTimeoutMs = 4000;
    const coord = await open({ sessionTimeoutMs });
    const lead = await coord.elect('/masters', 'old');
    await zk.ensemble().stopNode(0);
    await zk.ensemble().stopNode(1);
    try {
      const started = Date.now();
      await rejectsWith(coord.put('/k', 'no quorum'), 'GALAXY_E_COORD_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThanOrEqual(sessionTimeoutMs + 500);
      await lead.lost;
      // The leader gave up by the session rule: two thirds of the timeout after the last contact.
      expect(Date.now() - started).toBeLessThan(sessionTimeoutMs);
      expect(coord.session.aborted).toBe(true);
      expect(String(coord.session.reason)).toMatch(/cut off from ZooKeeper/);
      await rejectsWith(coord.get('/k'), 'GALAXY_E_COORD_UNAVAILABLE');
    } finally {
      await zk.ensemble().startNode(0);
      await zk.ensemble().startNode(1);
    }
    const fresh = await openAfterRestart({ sessionTimeoutMs });
    // A write that timed out without quorum may still have been applied once quorum returned
    // (a timeout is not a refusal), so only the new write's effect is certain.
    await fresh.put('/k', 'quorum back');
    expect((await fresh.get('/k'))?.value).toBe('quorum back');
    // The old session expires a timeout after quorum returns; then its candidacy goes and a new leader is chosen.
    const next = await fresh.elect('/masters', 'new');
    expect(await fresh.leader('/masters')).toBe('new');
    await next.resign();
  }, 45_000);

  it("a session that being cut off does not end (a master's data session) goes on when quorum returns", async () => {
    const sessionTimeoutMs = 10_000;
    // The ensemble was stopped and restarted by the test before.
    const kept = await openAfterRestart({ sessionTimeoutMs, endsWhenCutOff: false });
    const ruled = await openAfterRestart({ sessionTimeoutMs });
    await kept.put('/kept', 'before');
    await zk.ensemble().stopNode(0);
    await zk.ensemble().stopNode(1);
    try {
      // Past the rule's two thirds of the timeout: the other session is over, this one is not.
      await new Promise((r) => setTimeout(r, (3 * sessionTimeoutMs) / 4));
      expect(ruled.session.aborted).toBe(true);
      expect(kept.session.aborted).toBe(false);
    } finally {
      await zk.ensemble().startNode(0);
      await zk.ensemble().startNode(1);
    }
    // The same session, on again: its writes go through and nothing was lost.
    await kept.put('/kept', 'after');
    expect((await kept.get('/kept'))?.value).toBe('after');
    expect(kept.session.aborted).toBe(false);
  }, 60_000);
});
