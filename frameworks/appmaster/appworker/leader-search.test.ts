/**
 * How a worker picks the AppMaster to pull from, without I/O: a standby's NOT_LEADER answer sends
 * it to the leader it names, any other failure to the next address in turn, and the leader's own
 * list replaces the one the pod was launched with.
 */
import { describe, expect, it } from 'vitest';
import { GalaxyError } from '../../../core/errors.js';
import { notLeader } from '../../../core/not-leader.js';
import { LeaderSearch } from './leader-search.js';

const unreachable = new GalaxyError('GALAXY_E_UNAVAILABLE', 'the AppMaster at a:1 cannot be reached');

describe('LeaderSearch', () => {
  it('starts at the first address and goes round the others on failures', () => {
    const search = new LeaderSearch(['a:1', 'b:2', ' ', 'b:2', 'c:3']);
    expect(search.known).toEqual(['a:1', 'b:2', 'c:3']);
    expect(search.current).toBe('a:1');
    expect(search.failed(unreachable)).toBe(true);
    expect(search.current).toBe('b:2');
    search.failed(new Error('anything else'));
    search.failed(unreachable);
    expect(search.current).toBe('a:1');
  });

  it('follows a standby to the leader it names, even one it did not know', () => {
    const search = new LeaderSearch(['a:1', 'b:2']);
    expect(search.failed(notLeader('AppMaster', 'b:2'))).toBe(true);
    expect(search.current).toBe('b:2');
    search.failed(notLeader('AppMaster', 'z:9'));
    expect(search.current).toBe('z:9');
    expect(search.known).toEqual(['a:1', 'b:2', 'z:9']);
  });

  it('moves on when a standby knows no leader yet, and stays when the error names the current one', () => {
    const search = new LeaderSearch(['a:1', 'b:2']);
    search.failed(notLeader('AppMaster', ''));
    expect(search.current).toBe('b:2');
    expect(search.failed(notLeader('AppMaster', 'b:2'))).toBe(false);
  });

  it("takes the leader's list of AppMasters, keeping the one it pulls from", () => {
    const search = new LeaderSearch(['a:1']);
    search.learned(['a:1', 'b:2']);
    expect(search.known).toEqual(['a:1', 'b:2']);
    search.learned([]);
    expect(search.known).toEqual(['a:1', 'b:2']);
    search.learned(['c:3']);
    expect(search.known).toEqual(['a:1', 'c:3']);
    expect(search.current).toBe('a:1');
  });

  it('needs at least one address', () => {
    expect(() => new LeaderSearch(['', ' '])).toThrow(/at least one AppMaster/);
  });
});
