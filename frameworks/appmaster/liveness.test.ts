/**
 * Liveness: the spec's check is validated like the readiness check; the AppWorker counts its
 * restarts within the window; the AppMaster leaves a pod whose restarts are below `maxRestarts`
 * alone and replaces one that reached it, without counting it against the host.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TaskState } from '../../proto/gen/galaxy/v1/common.js';
import { LivenessRestarts } from './appworker/liveness.js';
import { parseJobSpecJson } from './spec/parse.js';
import { offerOf, specJson, startAppMasterHarness, type AppMasterHarness } from './testing/harness.js';

const live = {
  ports: [{ name: 'http' }],
  liveness: { type: 'http', port: 'http', path: '/live', failures: 2, maxRestarts: 2, windowS: 60 },
};

let h: AppMasterHarness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

describe('liveness', { timeout: 20_000 }, () => {
  it('is validated as the readiness check is, with clear paths', () => {
    expect(parseJobSpecJson(specJson('web', 1, '1', live), 'spec').liveness).toMatchObject({
      type: 'http',
      maxRestarts: 2,
      windowS: 60,
      graceS: 5,
    });
    expect(() => parseJobSpecJson(specJson('web', 1, '1', { liveness: { type: 'http' } }), 'spec')).toThrow(
      /liveness\.port.*needs a port/s,
    );
    expect(() =>
      parseJobSpecJson(specJson('web', 1, '1', { ...live, liveness: { ...live.liveness, maxRestarts: 0 } }), 'spec'),
    ).toThrow(/liveness\.maxRestarts/);
  });

  it('counts the worker restarts within the window only', () => {
    const restarts = new LivenessRestarts();
    restarts.record(1000);
    restarts.record(50_000);
    expect(restarts.count(60, 55_000)).toBe(2);
    expect(restarts.count(60, 61_500)).toBe(1);
    restarts.clear();
    expect(restarts.count(60, 61_500)).toBe(0);
  });

  it('replaces a pod whose liveness restarts reached maxRestarts, not counting it against the host', async () => {
    h = await startAppMasterHarness();
    await h.appmaster.submit(specJson('web', 1, '1', { ...live, failure: { blacklistAfter: 1 } }));
    h.offer(offerOf('o1'));
    await h.calls('accept');
    const healthy = { phase: 'running', health: 'healthy', revision: 1, dataRevision: 1 };
    await h.pull('web', 'web-0', { ...healthy, livenessRestarts: 1 });
    h.appmaster.tick();
    expect(h.master.calls.items.filter((c) => c.call?.$case === 'kill')).toHaveLength(0);
    const first = (await h.show('web')).pods[0]?.taskId;
    await h.pull('web', 'web-0', { ...healthy, livenessRestarts: 2 });
    h.appmaster.tick();
    const [kill] = await h.calls('kill');
    expect(kill?.call?.$case === 'kill' && kill.call.kill.taskId).toBe(first);
    await h.taskState('web', 'web-0', TaskState.TASK_KILLED);
    // Placed again on the same host: liveness is the service's failure, not the host's.
    await new Promise((r) => setTimeout(r, 100));
    h.offer(offerOf('o2'));
    await h.calls('accept', 2);
    const after = await h.show('web');
    expect(after.blacklist).toEqual([]);
    expect(after.pods[0]?.taskId).not.toBe(first);
    expect(after.pods[0]?.hostname).toBe('host-a1');
  });
});

describe('deploy timeout of an in-place move', { timeout: 20_000 }, () => {
  it('counts from the move, not from the container launch', async () => {
    h = await startAppMasterHarness();
    const deploy = { deploy: { step: 1, intervalS: 0, deployTimeoutS: 60 } };
    await h.appmaster.submit(specJson('web', 1, '1', deploy));
    h.offer(offerOf('o1'));
    await h.calls('accept');
    await h.healthy('web', 'web-0', 1);
    h.advance(120_000);
    await h.appmaster.updateJob(specJson('web', 1, '2', deploy));
    await h.pull('web', 'web-0', { phase: 'deploying', revision: 1, dataRevision: 1 });
    h.appmaster.tick();
    expect(h.master.calls.items.filter((c) => c.call?.$case === 'kill')).toHaveLength(0);
    h.advance(61_000);
    h.appmaster.tick();
    await h.calls('kill');
  });
});
