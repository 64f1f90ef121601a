/**
 * Liveness on real containers: a service whose liveness check fails is restarted in place (same
 * container, a new process) while its sibling keeps serving; one whose restarts keep failing is
 * replaced with a new container. The readiness check alone never restarts anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/async-queue.js';
import { sampleServing, served, startDeployCluster, type DeployCluster } from '../helpers/deploy-cluster.js';

let cluster: DeployCluster;
beforeAll(async () => {
  cluster = await startDeployCluster('deploy-liveness', '[20200-20299]');
}, 60_000);
afterAll(async () => {
  expect(await cluster.stop()).toEqual([]);
}, 60_000);

const liveness = {
  type: 'http',
  port: 'http',
  path: '/live',
  intervalS: 0.3,
  timeoutS: 1,
  graceS: 1,
  failures: 2,
  maxRestarts: 2,
  windowS: 120,
};

describe('liveness and readiness', { timeout: 90_000 }, () => {
  it('restarts a wedged service in place after `failures` failed checks; the other pod serves throughout', async () => {
    const { api } = cluster;
    // A restarted service must answer within `graceS`, or its second restart reaches `maxRestarts` and
    // the pod is replaced: on a loaded machine a service's start takes seconds, so here the grace is long.
    const patient = { ...liveness, graceS: 15, maxRestarts: 3 };
    await api.submitJob({ specJson: cluster.spec('alive', '1.0.0', 2, { liveness: patient }) });
    const before = await cluster.settled('alive', 2);
    const pod = before.pods[0];
    const port = pod?.ports.http ?? 0;
    const first = await served(port);
    expect(first).toBeDefined();
    const sampler = sampleServing(api, 'alive');
    await fetch(`http://127.0.0.1:${port}/wedge`);
    const after = await eventually(
      async () => {
        const answer = await served(port);
        return answer !== undefined && answer.pid !== first?.pid && answer;
      },
      30_000,
      'a new service process answering on the wedged pod',
    );
    expect(after.pod).toBe(first?.pod);
    const again = await cluster.settled('alive', 2);
    const samples = await sampler.stop();
    expect(again.pods.map((p) => p.taskId)).toEqual(before.pods.map((p) => p.taskId));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(1);
    await api.removeJob({ name: 'alive' });
  });

  it('replaces the pod with a new container when liveness restarts keep failing', async () => {
    const { api } = cluster;
    await api.submitJob({ specJson: cluster.spec('dead', '1.0.0', 1, { liveness, env: { HELLO_DEAD: '1' } }) });
    const first = await cluster.until('dead', (job) => job.pods[0]?.taskId !== '', 'a container');
    const firstTask = first.pods[0]?.taskId;
    const replaced = await cluster.until(
      'dead',
      (job) => (job.pods[0]?.taskId ?? '') !== '' && job.pods[0]?.taskId !== firstTask,
      'a new container after maxRestarts liveness restarts',
    );
    expect(replaced.blacklist).toEqual([]);
    await api.removeJob({ name: 'dead' });
  });
});
