/**
 * How the CLI reaches a framework that runs with standbys (`galaxy job`, `batch`, `mr`): the
 * leader read from a real `local:` coordinator's election, a standby's NOT_LEADER followed to the
 * leader it names, a wait while nobody leads, and a repeatable call that goes on with the next
 * leader when the one it called dies. The framework clients are fakes answering with their own
 * address (their gRPC is tested with each framework).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Coordinator } from '../core/coordinator/coordinator.js';
import { openCoordinator } from '../core/coordinator/index.js';
import { GalaxyError } from '../core/errors.js';
import { notLeader } from '../core/not-leader.js';
import { LeaderClient } from './leader-client.js';

const GROUP = '/galaxy/election/test';

/** A fake framework client at `address`: `answer` says what it does when called. */
class Fake {
  closed = false;
  constructor(
    readonly address: string,
    private readonly answer: (address: string) => string,
  ) {}
  /** Answers with `answer(address)`, or rejects with what it throws. */
  async ask(): Promise<string> {
    await Promise.resolve();
    return this.answer(this.address);
  }
  close(): void {
    this.closed = true;
  }
}

let dir = '';
let url = '';
let session: Coordinator;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-leader-client-'));
  url = `local:${dir}`;
  session = await openCoordinator(url);
});

afterEach(async () => {
  await session.close();
  await rm(dir, { recursive: true, force: true });
});

/** A client of `target` whose fakes answer with `answer`; every fake made is kept in `made`. */
function client(target: string, answer: (address: string) => string, waitMs = 5000) {
  const made: Fake[] = [];
  const leader = new LeaderClient(
    target,
    GROUP,
    (address) => {
      const fake = new Fake(address, answer);
      made.push(fake);
      return fake;
    },
    waitMs,
  );
  return { leader, made };
}

describe('LeaderClient', () => {
  it('calls the leader the coordinator names', async () => {
    await session.elect(GROUP, '10.0.0.1:5052');
    const { leader } = client(url, (address) => address);
    expect(await leader.call((c) => c.ask())).toBe('10.0.0.1:5052');
    leader.close();
  });

  it("follows a standby's NOT_LEADER to the leader it names, closing the standby's client", async () => {
    const { leader, made } = client('10.0.0.2:5052', (address) => {
      if (address === '10.0.0.2:5052') throw notLeader('batch framework', '10.0.0.3:5052');
      return address;
    });
    expect(await leader.call((c) => c.ask())).toBe('10.0.0.3:5052');
    expect(made.map((f) => [f.address, f.closed])).toEqual([
      ['10.0.0.2:5052', true],
      ['10.0.0.3:5052', false],
    ]);
    leader.close();
  });

  it('waits while nobody is elected, then calls the new leader', async () => {
    const { leader } = client(url, (address) => address);
    const call = leader.call((c) => c.ask());
    await new Promise((resolve) => setTimeout(resolve, 700));
    await session.elect(GROUP, '10.0.0.4:5052');
    expect(await call).toBe('10.0.0.4:5052');
    leader.close();
  });

  it('gives up after its bound with the reason when nobody is elected', async () => {
    const { leader } = client(url, (address) => address, 800);
    await expect(leader.call((c) => c.ask())).rejects.toThrow(
      `GALAXY_E_UNAVAILABLE: no leader of ${GROUP} is elected in ${url}`,
    );
    leader.close();
  });

  it('a repeatable call goes on with the next leader when the one it called dies; another call does not', async () => {
    const first = await session.elect(GROUP, '10.0.0.5:5052');
    const other = await openCoordinator(url);
    try {
      const dead = new Set<string>();
      const answer = (address: string) => {
        if (dead.has(address)) throw new GalaxyError('GALAXY_E_UNAVAILABLE', `${address} does not answer`);
        return address;
      };
      const { leader } = client(url, answer);
      expect(await leader.call((c) => c.ask())).toBe('10.0.0.5:5052');
      // The leader dies; a standby is elected.
      dead.add('10.0.0.5:5052');
      await first.resign();
      await other.elect(GROUP, '10.0.0.6:5052');
      expect(await leader.call((c) => c.ask(), { repeatable: true })).toBe('10.0.0.6:5052');
      leader.close();

      const once = client(url, answer).leader;
      dead.add('10.0.0.6:5052');
      await expect(once.call((c) => c.ask())).rejects.toThrow('GALAXY_E_UNAVAILABLE: 10.0.0.6:5052 does not answer');
      once.close();
    } finally {
      await other.close();
    }
  });
});
