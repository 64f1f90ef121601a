/**
 * An agent's resend of an update the master forwarded lately on the same stream is not forwarded
 * again until the interval passed; on a new stream (a re-subscription) it is forwarded at once.
 */
import { describe, expect, it } from 'vitest';
import type { Event } from '../../proto/gen/galaxy/v1/scheduler.js';
import { Connection, type FrameworkConnection } from '../records.js';
import { ForwardedUpdates } from './forwarded-updates.js';

function connection(): FrameworkConnection {
  return new Connection<Event>({ write: () => true, end: () => undefined });
}

describe('ForwardedUpdates', () => {
  it('holds a resend on the same stream for the interval, and forwards it after', () => {
    let now = 1_000_000;
    const forwarded = new ForwardedUpdates(5000, 100, () => now);
    const stream = connection();
    expect(forwarded.forward('fw\u0000t1', 'u1', stream)).toBe(true);
    now += 1000;
    expect(forwarded.forward('fw\u0000t1', 'u1', stream)).toBe(false);
    expect(forwarded.forward('fw\u0000t1', 'u2', stream)).toBe(true); // another update of the task
    expect(forwarded.forward('fw\u0000t2', 'u1', stream)).toBe(true); // another task
    now += 3000;
    expect(forwarded.forward('fw\u0000t1', 'u1', stream)).toBe(false);
    expect(forwarded.held).toBe(2);
    now += 1000; // 5 s after it was forwarded
    expect(forwarded.forward('fw\u0000t1', 'u1', stream)).toBe(true);
    now += 1000;
    expect(forwarded.forward('fw\u0000t1', 'u1', stream)).toBe(false);
  });

  it('forwards a resend at once on a new or closed stream', () => {
    const now = 1_000_000;
    const forwarded = new ForwardedUpdates(5000, 100, () => now);
    const old = connection();
    expect(forwarded.forward('fw\u0000t1', 'u1', old)).toBe(true);
    const next = connection();
    expect(forwarded.forward('fw\u0000t1', 'u1', next)).toBe(true);
    next.markClosed();
    expect(forwarded.forward('fw\u0000t1', 'u1', next)).toBe(true);
    expect(forwarded.held).toBe(0);
  });

  it('remembers a bounded number of updates, and forgets those past the interval', () => {
    let now = 1_000_000;
    const forwarded = new ForwardedUpdates(5000, 10, () => now);
    const stream = connection();
    for (let i = 0; i < 50; i++) forwarded.forward(`fw\u0000t${i}`, 'u', stream);
    expect(forwarded.size).toBe(10);
    // The oldest were forgotten: a resend of one goes through.
    expect(forwarded.forward('fw\u0000t0', 'u', stream)).toBe(true);
    expect(forwarded.forward('fw\u0000t49', 'u', stream)).toBe(false);
    now += 5000;
    forwarded.forward('fw\u0000new', 'u', stream);
    expect(forwarded.size).toBe(1);
  });

  it('keeps an update forwarded again on a new stream when its older forwarding expires', () => {
    let now = 1_000_000;
    const forwarded = new ForwardedUpdates(5000, 100, () => now);
    const old = connection();
    expect(forwarded.forward('fw\u0000t1', 'u1', old)).toBe(true);
    now += 3000;
    const next = connection();
    expect(forwarded.forward('fw\u0000t1', 'u1', next)).toBe(true);
    now += 2500; // the first forwarding expired, the second did not
    expect(forwarded.forward('fw\u0000t2', 'u1', next)).toBe(true);
    expect(forwarded.forward('fw\u0000t1', 'u1', next)).toBe(false);
    expect(forwarded.size).toBe(2);
    now += 3000;
    expect(forwarded.forward('fw\u0000t1', 'u1', next)).toBe(true);
  });

  it('forgets expired updates however many came and went', () => {
    let now = 0;
    const forwarded = new ForwardedUpdates(5000, 1_000_000, () => now);
    const stream = connection();
    for (let i = 0; i < 20_000; i++) {
      now += 1;
      forwarded.forward(`fw\u0000t${i}`, 'u', stream);
    }
    expect(forwarded.size).toBe(5000);
    now += 5000;
    forwarded.forward('fw\u0000last', 'u', stream);
    expect(forwarded.size).toBe(1);
  });
});
