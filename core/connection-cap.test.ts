/**
 * The connection cap's rule: below the cap every connection is accepted; at the cap the one idle
 * the longest (no call in flight) makes room, and a newcomer is refused only when every connection
 * has a call in flight.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { admitConnection, type TrackedConnection } from './connection-cap.js';

const conn = (peer: string, activeCalls: number, lastActiveAt: number): TrackedConnection => ({
  peer,
  activeCalls,
  lastActiveAt,
});

describe('admitConnection', () => {
  it('accepts below the cap without looking at the connections', () => {
    expect(admitConnection([conn('a', 0, 1)], false)).toEqual({ kind: 'accept' });
  });

  it('at the cap evicts the connection idle the longest', () => {
    const open = [conn('busy-old', 1, 0), conn('idle-new', 0, 50), conn('idle-old', 0, 10)];
    expect(admitConnection(open, true)).toEqual({ kind: 'evict', victim: open[2] });
  });

  it('never evicts a connection with a call in flight: refuses instead', () => {
    expect(admitConnection([conn('a', 1, 0), conn('b', 3, 5)], true)).toEqual({ kind: 'refuse' });
  });

  it('the victim is always idle, and no idle connection has been idle longer', () => {
    const connection = fc.record({ activeCalls: fc.nat(3), lastActiveAt: fc.nat(1000) });
    fc.assert(
      fc.property(fc.array(connection, { maxLength: 30 }), (shapes) => {
        const open = shapes.map((s, i) => conn(`p${i}`, s.activeCalls, s.lastActiveAt));
        const admission = admitConnection(open, true);
        const idle = open.filter((c) => c.activeCalls === 0);
        if (idle.length === 0) return admission.kind === 'refuse';
        return (
          admission.kind === 'evict' &&
          admission.victim.activeCalls === 0 &&
          idle.every((c) => c.lastActiveAt >= admission.victim.lastActiveAt)
        );
      }),
    );
  });
});
