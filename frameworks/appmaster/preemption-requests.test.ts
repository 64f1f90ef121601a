/**
 * How many preemption requests the AppMaster's pending pods send (`preemption.ts`): at most
 * {@link MAX_REQUESTS_IN_FLIGHT} outstanding over all pods, the rest as answers come; a failure of
 * the link to the master (unreachable, or the AppMaster no longer subscribed) pauses every pod's
 * requests, while one pod's refusal pauses that pod only.
 */
import { describe, expect, it } from 'vitest';
import { GalaxyError } from '../../core/errors.js';
import { createLogger } from '../../core/logger.js';
import { PreemptionPlan } from '../../proto/gen/galaxy/v1/scheduler.js';
import type { PreemptRequest } from '../sdk/driver.js';
import type { SchedulerDriver } from '../sdk/scheduler-driver.js';
import type { JobState } from './job-state.js';
import { NO_OFFERS } from './placement/pending.js';
import { MAX_REQUESTS_IN_FLIGHT, PENDING_BEFORE_PREEMPT_MS, PodPreemption } from './preemption.js';
import { parseJobSpecJson } from './spec/parse.js';

/** A running job of `pods` pods, all pending for lack of resources (what `step` reads of a job). */
function pendingJob(name: string, pods: number): JobState {
  const spec = parseJobSpecJson(
    JSON.stringify({
      name,
      band: 'service',
      replicas: pods,
      resources: { cpu: { millicores: '100m' }, memory: { hard: '64Mi' } },
      package: { source: 'file:///pkg/p.tar.gz', version: '1', sha256: 'a'.repeat(64) },
      commands: { start: './run' },
    }),
  );
  const list = Array.from({ length: pods }, (_, i) => ({
    record: { podId: `${name}-${i}`, revision: 1 },
    runtime: { removing: false },
  }));
  return {
    record: { state: 'running', name, owner: 'alice' },
    pendingPods: () => list,
    specOf: () => spec,
    pending: [{ reason: NO_OFFERS }],
  } as unknown as JobState;
}

/** A driver whose PREEMPT calls wait until the test settles them. */
function heldDriver() {
  const calls: { request: PreemptRequest; settle: (outcome: PreemptionPlan | Error) => void }[] = [];
  const driver = {
    preempt: (request: PreemptRequest) =>
      new Promise<PreemptionPlan>((resolve, reject) => {
        calls.push({
          request,
          settle: (outcome) => {
            if (outcome instanceof Error) reject(outcome);
            else resolve(outcome);
          },
        });
      }),
  } as unknown as SchedulerDriver;
  return { driver, calls };
}

const refused = PreemptionPlan.fromPartial({ granted: false, refusal: 'nothing to preempt' });
const settled = () => new Promise((r) => setImmediate(r));

describe('the AppMaster preemption requests', () => {
  it(`keeps at most ${MAX_REQUESTS_IN_FLIGHT} outstanding over all pods, and sends more as answers come`, async () => {
    let now = 1_000_000;
    const preemption = new PodPreemption(createLogger('test', 'silent'), () => now);
    const { driver, calls } = heldDriver();
    const jobs = [pendingJob('web', 30), pendingJob('api', 30)];
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(0); // pending, but not for long yet
    now += PENDING_BEFORE_PREEMPT_MS;
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT);
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT);
    for (const call of calls.slice(0, 4)) call.settle(refused);
    await settled();
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT + 4);
    // Every request is for a different pod.
    expect(new Set(calls.map((c) => c.request.requestId)).size).toBe(calls.length);
  });

  it("pauses every pod's requests when the master no longer knows the AppMaster, one pod's only when it is refused", async () => {
    let now = 1_000_000;
    const preemption = new PodPreemption(createLogger('test', 'silent'), () => now);
    const { driver, calls } = heldDriver();
    const jobs = [pendingJob('web', 40)];
    preemption.step(driver, jobs);
    now += PENDING_BEFORE_PREEMPT_MS;
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT);

    // One pod's request refused for its owner's authority: the others go on asking.
    calls[0]?.settle(new GalaxyError('GALAXY_E_PERMISSION_DENIED', 'alice lacks band:production'));
    await settled();
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT + 1);

    // The master says the AppMaster is not subscribed: no pod asks for 5 s, though slots are free.
    for (const call of calls.slice(1, 9))
      call.settle(new GalaxyError('GALAXY_E_FRAMEWORK_UNKNOWN', 'framework "fw-1" is not subscribed'));
    await settled();
    preemption.step(driver, jobs);
    now += 4_000;
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT + 1);
    now += 1_000;
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT + 1 + 8);

    // Unreachable is the link's too.
    calls.at(-1)?.settle(new GalaxyError('GALAXY_E_UNAVAILABLE', 'deadline exceeded'));
    await settled();
    preemption.step(driver, jobs);
    expect(calls).toHaveLength(MAX_REQUESTS_IN_FLIGHT + 1 + 8);
  });
});
