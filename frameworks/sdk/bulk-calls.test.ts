/**
 * Bulk calls (a round's ACCEPTs) against a slow fake master with the real server limits (128
 * streams per connection): they wait for a turn in the link, not inside the HTTP/2 session, so
 * each one's deadline covers only its own round trip, and the other calls are not held up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TaskInfo } from '../../proto/gen/galaxy/v1/common.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { BULK_CALLS_IN_FLIGHT } from './master-link.js';
import { GrpcSchedulerDriver } from './scheduler-driver.js';
import { startFakeMaster } from './testing/fake-master.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** How long the fake master takes to answer an ACCEPT. */
const ACCEPT_MS = 300;

function task(i: number): TaskInfo {
  return TaskInfo.fromPartial({
    taskId: `bulk-${i}`,
    name: `bulk-${i}`,
    resources: { cpus: 10, mem: 1 << 20 },
    command: { shell: 'true' },
  });
}

describe('bulk calls', () => {
  it('sends at most BULK_CALLS_IN_FLIGHT ACCEPTs at once, each with its own deadline, and lets REVIVE past them', async () => {
    let inFlight = 0;
    let peak = 0;
    const master = await startFakeMaster({
      answer: async (call) => {
        if (call.call?.$case !== 'accept') return undefined;
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await sleep(ACCEPT_MS);
        inFlight -= 1;
        return undefined;
      },
    });
    cleanups.push(() => master.stop());
    // 640 calls, 300 ms each: 127 streams at a time would take 1.5 s, past the 1 s deadline, if
    // the deadline ran while a call waited for a stream.
    const driver = new GrpcSchedulerDriver({
      master: master.address,
      framework: { name: 'bulk-calls', failoverTimeoutS: 30 },
      scheduler: {},
      reconnect: { initialMs: 20, maxMs: 100 },
      callTimeoutMs: 1000,
    });
    cleanups.push(() => driver.stop());
    await driver.start();
    const accepts = Array.from({ length: 640 }, (_, i) => driver.launch(`offer-${i}`, [task(i)]));
    await sleep(50);
    const reviveStarted = Date.now();
    await driver.revive();
    expect(Date.now() - reviveStarted).toBeLessThan(ACCEPT_MS);
    const outcomes = await Promise.allSettled(accepts);
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed.map((o) => String(o.reason)).slice(0, 3)).toEqual([]);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(BULK_CALLS_IN_FLIGHT);
    expect(master.calls.items.filter((c) => c.call?.$case === 'accept')).toHaveLength(640);
  });

  it('refuses the calls still waiting for a turn when the driver stops, without sending them', async () => {
    const release: (() => void)[] = [];
    const master = await startFakeMaster({
      answer: (call) =>
        call.call?.$case === 'accept'
          ? new Promise((resolve) => {
              release.push(() => {
                resolve(undefined);
              });
            })
          : undefined,
    });
    cleanups.push(() => master.stop());
    const driver = new GrpcSchedulerDriver({
      master: master.address,
      framework: { name: 'bulk-calls', failoverTimeoutS: 30 },
      scheduler: {},
      reconnect: { initialMs: 20, maxMs: 100 },
    });
    await driver.start();
    const accepts = Array.from({ length: BULK_CALLS_IN_FLIGHT + 10 }, (_, i) => driver.launch(`offer-${i}`, [task(i)]));
    for (let i = 0; i < 100 && release.length < BULK_CALLS_IN_FLIGHT; i++) await sleep(20);
    expect(release).toHaveLength(BULK_CALLS_IN_FLIGHT);
    await driver.stop();
    // The calls on the wire settle as the master answers them; the ones still waiting never went.
    for (const done of release) done();
    const outcomes = await Promise.allSettled(accepts);
    const refused = outcomes.filter((o) => o.status === 'rejected').map((o) => String(o.reason));
    expect(refused.filter((r) => r.includes('the driver is stopped'))).toHaveLength(10);
    expect(outcomes.slice(BULK_CALLS_IN_FLIGHT).every((o) => o.status === 'rejected')).toBe(true);
    expect(master.calls.items.filter((c) => c.call?.$case === 'accept')).toHaveLength(BULK_CALLS_IN_FLIGHT);
  });
});
