/**
 * Candidates of a framework's election (batch, MapReduce) on a real `local:` coordinator: one
 * leads once it serves, a standby names the leader from its first answer on, the next candidate
 * leads when the leader goes, a leader whose session ends is deposed, and the framework id is kept
 * for the next leader. Without a coordinator a framework leads at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { openCoordinator } from '../../core/coordinator/index.js';
import { createLogger } from '../../core/logger.js';
import { FrameworkLeadership, leaderOnly } from './leadership.js';

const GROUP = '/galaxy/election/test';
const log = createLogger('leadership-test', 'silent');

let dir = '';
const sessions: Coordinator[] = [];
const candidates: FrameworkLeadership[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-leadership-'));
});

afterEach(async () => {
  await Promise.all(candidates.splice(0).map((c) => c.stop()));
  await Promise.all(sessions.splice(0).map((s) => s.close().catch(() => undefined)));
  await rm(dir, { recursive: true, force: true });
});

/** A candidate at `address` with a session of its own. */
async function candidate(address: string): Promise<{ leadership: FrameworkLeadership; session: Coordinator }> {
  const session = await openCoordinator(`local:${dir}`);
  sessions.push(session);
  const leadership = new FrameworkLeadership(session, GROUP, address, log);
  candidates.push(leadership);
  return { leadership, session };
}

describe('FrameworkLeadership', () => {
  it('leads once it serves; a standby names the leader from its first answer; the next leads when it goes', async () => {
    const a = (await candidate('10.0.0.1:5052')).leadership;
    await a.lead();
    expect(a.standby(), 'elected but still loading: no leader to name yet').toBe('');
    a.serve();
    expect(a.standby()).toBeUndefined();

    const b = (await candidate('10.0.0.2:5052')).leadership;
    await b.follow();
    expect(b.standby()).toBe('10.0.0.1:5052');
    let bLeads = false;
    const elected = b.lead().then(() => {
      bLeads = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bLeads).toBe(false);

    await a.stop();
    await elected;
    b.serve();
    expect(b.standby()).toBeUndefined();
  });

  it('a leader whose coordinator session ends is deposed and stops acting', async () => {
    const { leadership, session } = await candidate('10.0.0.3:5052');
    await leadership.lead();
    leadership.serve();
    await session.close();
    await leadership.lost;
    expect(leadership.standby()).toBe('');
    // Deposed, it never leads again in this process.
    leadership.serve();
    expect(leadership.standby()).toBe('');
  });

  it('keeps the framework id for the next leader', async () => {
    const a = (await candidate('10.0.0.4:5052')).leadership;
    expect(await a.frameworkId('/galaxy/test/framework-id')).toBeUndefined();
    await a.rememberFrameworkId('/galaxy/test/framework-id', 'fw-1');
    const b = (await candidate('10.0.0.5:5052')).leadership;
    expect(await b.frameworkId('/galaxy/test/framework-id')).toBe('fw-1');
  });

  it('leads at once without a coordinator', async () => {
    const alone = new FrameworkLeadership(undefined, GROUP, '127.0.0.1:5052', log);
    expect(alone.standby()).toBe('');
    await alone.lead();
    alone.serve();
    expect(alone.standby()).toBeUndefined();
    expect(await alone.frameworkId('/galaxy/test/framework-id')).toBeUndefined();
    await alone.stop();
  });
});

describe('leaderOnly', () => {
  it('answers NOT_LEADER naming the leader while standing by, and runs the verb once leading', async () => {
    let standby: string | undefined = '10.0.0.9:5052';
    const verb = leaderOnly('batch framework', () => standby)((request: number) => request * 2);
    const caller = { user: 'alice', admin: false, kind: 'user' as const };
    expect(() => verb(2, caller)).toThrow(
      'GALAXY_E_NOT_LEADER: this batch framework is a standby; the leader is 10.0.0.9:5052',
    );
    standby = '';
    expect(() => verb(2, caller)).toThrow(
      'GALAXY_E_NOT_LEADER: this batch framework is a standby; no leader is elected yet',
    );
    standby = undefined;
    expect(await verb(2, caller)).toBe(4);
  });
});
