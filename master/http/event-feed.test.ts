/**
 * The HTTP API's event feed on the master's event log: a user lists and follows only the events
 * of their own jobs and frameworks, following starts after what exists (no replay), and stops
 * when told.
 */
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../core/auth/principal.js';
import { EventLog } from '../events/log.js';
import { logEventFeed } from './event-feed.js';

const alice: Principal = { user: 'alice', admin: false, kind: 'user' };
const admin: Principal = { user: 'root', admin: true, kind: 'user' };
const owners = new Map([['fw-bob', 'bob']]);

describe('logEventFeed', () => {
  it('lists what the caller may see, newest `limit`, and follows new events only', async () => {
    const log = new EventLog();
    log.append({ kind: 'job.created', user: 'alice', job: 'a1' });
    log.append({ kind: 'job.created', user: 'bob', job: 'b1', frameworkId: 'fw-bob' });
    log.append({ kind: 'job.created', user: 'alice', job: 'a2' });
    const feed = logEventFeed(log, (id) => owners.get(id), alice);
    expect((await feed.list(0, 0)).map((e) => e.job)).toEqual(['a1', 'a2']);
    expect((await feed.list(0, 1)).map((e) => e.job)).toEqual(['a2']);
    expect((await logEventFeed(log, (id) => owners.get(id), admin).list(0, 0)).map((e) => e.job)).toEqual([
      'a1',
      'b1',
      'a2',
    ]);

    const seen: string[] = [];
    const stop = feed.follow(
      (e) => seen.push(e.job),
      () => undefined,
    );
    log.append({ kind: 'job.updated', user: 'bob', job: 'b2', frameworkId: 'fw-bob' });
    log.append({ kind: 'job.updated', user: 'alice', job: 'a3' });
    expect(seen).toEqual(['a3']);
    stop();
    log.append({ kind: 'job.updated', user: 'alice', job: 'a4' });
    expect(seen).toEqual(['a3']);
    expect(log.watching).toBe(0);
  });
});
