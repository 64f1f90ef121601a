/**
 * Leader lookups through a coordinator: lookups that overlap share one coordinator session and
 * its answer (thousands of simulated agents in one process reconnect at once after a failover);
 * a later lookup opens a session of its own, so it sees a newer leader.
 */
import { describe, expect, it, vi } from 'vitest';

let opened = 0;
let leader: string | undefined = '127.0.0.1:5050';
let release: () => void = () => undefined;

vi.mock('./coordinator/index.js', () => ({
  openCoordinator: () => {
    opened += 1;
    return Promise.resolve({
      leader: () =>
        new Promise<string | undefined>((resolve) => {
          release = () => {
            resolve(leader);
          };
        }),
      close: () => Promise.resolve(),
    });
  },
}));

const { LeaderLocator, MASTER_GROUP } = await import('./leader-locator.js');

describe('LeaderLocator', () => {
  it('shares one session among overlapping lookups, and opens a new one afterwards', async () => {
    const lookups = Array.from({ length: 1000 }, () => new LeaderLocator('zk://zk:2181/c', MASTER_GROUP).locate());
    await vi.waitFor(() => {
      expect(opened).toBe(1);
    });
    release();
    expect(new Set(await Promise.all(lookups))).toEqual(new Set(['127.0.0.1:5050']));
    leader = '127.0.0.1:5051';
    const later = new LeaderLocator('zk://zk:2181/c', MASTER_GROUP).locate();
    await vi.waitFor(() => {
      expect(opened).toBe(2);
    });
    release();
    expect(await later).toBe('127.0.0.1:5051');
  });

  it('answers a fixed address without a coordinator', async () => {
    const before = opened;
    expect(await new LeaderLocator('10.0.0.1:5050', MASTER_GROUP).locate()).toBe('10.0.0.1:5050');
    expect(opened).toBe(before);
  });
});
