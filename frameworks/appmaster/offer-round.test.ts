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

/** Starts the harness (also into `h`, which the test's end stops) with the first call of `kind` unanswered until `release()`. */
async function startHoldingFirst(
  kind: NonNullable<SchedulerCall['call']>['$case'],
): Promise<{ harness: AppMasterHarness; release: () => void }> {
  let release: () => void = () => undefined;
  const held = new Promise<undefined>((resolve) => {
    release = () => {
      resolve(undefined);
    };
  });
  let first = true;
  const harness = await startAppMasterHarness({
    answer: (call) => {
      if (call.call?.$case !== kind || !first) return undefined;
      first = false;
      return held;
    },
  });
  h = harness;
  return { harness, release };
}

describe('AppMaster offer rounds', { timeout: 20_000 }, () => {
  it('handles the next offers while the DECLINE of an idle round is unanswered', async () => {
    // Issue 16: the handler awaited that DECLINE (35–50 s on a busy master), every later event
    // waited behind it, and the offers it then handled had timed out.
    const { harness, release } = await startHoldingFirst('decline');
    harness.offer(offerOf('o1'));
    await harness.calls('decline');
    await harness.appmaster.submit(specJson('held-decline-web', 1));
    harness.offer(offerOf('o2'));
    await harness.calls('accept');
    release();
  });

  it('REVIVEs, not SUPPRESSes, after declining a round during which a job was submitted', async () => {
    // The first DECLINE is answered only once the test calls release().
    const { harness, release } = await startHoldingFirst('decline');
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

  it("takes the next offers while a round's ACCEPT is still unanswered", async () => {
    // The first ACCEPT is answered only once the test calls release().
    const { harness, release } = await startHoldingFirst('accept');
    await harness.appmaster.submit(specJson('replay2-a', 1));
    harness.offer(offerOf('o1'));
    await harness.calls('accept');
    // Before: the offers handler awaited that ACCEPT, and the next offers waited behind it.
    await harness.appmaster.submit(specJson('replay2-b', 1));
    harness.offer(offerOf('o2'));
    await harness.calls('accept', 2);
    release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(harness.launched()).toHaveLength(2);
  });

  it('SUPPRESSes after declining when nothing was submitted meanwhile', async () => {
    h = await startAppMasterHarness();
    h.offer(offerOf('o1'));
    await h.calls('suppress');
    expect(kinds(h.master.calls.items)).toEqual(['decline', 'suppress']);
  });
});
