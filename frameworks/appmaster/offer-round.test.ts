/**
 * A job submitted while the AppMaster declines a round's offers (it had nothing to place) is
 * REVIVEd before that DECLINE lands, whose 30 s refuse filter would then keep its pods off those
 * agents (issue 16: 300 s of trace time at 10×), and the round's SUPPRESS would stop offers
 * altogether. The AppMaster REVIVEs again once the DECLINE is answered, and does not SUPPRESS.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SchedulerCall } from '../../proto/gen/galaxy/v1/scheduler.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

let h: AppMasterHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const kinds = (calls: readonly SchedulerCall[]) =>
  calls.map((c) => c.call?.$case).filter((k) => k === 'decline' || k === 'revive' || k === 'suppress');

describe('AppMaster offer rounds', { timeout: 20_000 }, () => {
  it('REVIVEs, not SUPPRESSes, after declining a round during which a job was submitted', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<undefined>((resolve) => {
      release = () => {
        resolve(undefined);
      };
    });
    let first = true;
    h = await startAppMasterHarness({
      // The first DECLINE is answered only once the test lets it.
      answer: (call) => {
        if (call.call?.$case !== 'decline' || !first) return undefined;
        first = false;
        return held;
      },
    });
    const harness = h;
    harness.offer(offerOf('o1'));
    await harness.calls('decline');
    const before = harness.master.calls.items.length;
    await harness.appmaster.submit(specJson('replay-web', 1));
    await harness.calls('revive');
    release();
    // After the DECLINE's answer: a REVIVE (its filter may have landed after the submit's), no SUPPRESS.
    await harness.calls('revive', 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = kinds(harness.master.calls.items.slice(before));
    expect(after.filter((k) => k === 'revive').length).toBeGreaterThanOrEqual(2);
    expect(after).not.toContain('suppress');
    // Its pod is placed at the next offer.
    harness.offer(offerOf('o2'));
    await harness.calls('accept');
    expect(harness.launched()).toHaveLength(1);
  });

  it('SUPPRESSes after declining when nothing was submitted meanwhile', async () => {
    h = await startAppMasterHarness();
    h.offer(offerOf('o1'));
    await h.calls('suppress');
    expect(kinds(h.master.calls.items)).toEqual(['decline', 'suppress']);
  });
});
