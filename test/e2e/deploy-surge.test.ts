/**
 * Surge on real containers, sampling every pod's service over HTTP every 100 ms: with
 * `maxSurge: 1, maxUnavailable: 0` a resource change (new containers) and a version change (in
 * place) both keep all 3 replicas serving throughout; the resource change starts each new pod
 * before an old one stops, and the in-place change keeps the original containers.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GALAXY_BIN } from '../helpers/processes.js';
import { sampleServing, startDeployCluster, type DeployCluster } from '../helpers/deploy-cluster.js';

let cluster: DeployCluster;
beforeAll(async () => {
  cluster = await startDeployCluster('deploy-surge', '[20300-20399]');
  await cluster.api.submitJob({ specJson: cluster.spec('surge', '1.0.0', 3, { deploy: surgeDeploy }) });
  await cluster.settled('surge', 3);
}, 90_000);
afterAll(async () => {
  expect(await cluster.stop()).toEqual([]);
}, 60_000);

const run = promisify(execFile);

/** `galaxy job …args` against the cluster's AppMaster, as a transcript. */
async function galaxyJob(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [GALAXY_BIN, 'job', ...args, '--appmaster', cluster.appmaster.framework.endpoint ?? ''],
    { env: { ...process.env, NO_COLOR: '1', GALAXY_LOG_LEVEL: 'warn' }, timeout: 30_000 },
  );
  return `$ galaxy job ${args.join(' ')}\n${stdout}`;
}

const surgeDeploy = { maxSurge: 1, maxUnavailable: 0, stopTimeoutS: 2, deployTimeoutS: 60 };

describe('surge', { timeout: 120_000 }, () => {
  it('a resource change starts new containers before old ones stop: 3 serve throughout, never more than 4 pods', async () => {
    const { api } = cluster;
    const before = await api.showJob({ name: 'surge' });
    const sampler = sampleServing(api, 'surge');
    let most = 0;
    const counting = setInterval(() => {
      void api.showJob({ name: 'surge' }).then((job) => {
        most = Math.max(most, job.pods.filter((p) => p.phase !== 'killing').length);
      });
    }, 100);
    const resources = { cpu: { millicores: 150, excess: true }, memory: { hard: '128Mi' } };
    const next = cluster.spec('surge', '1.0.0', 3, { deploy: surgeDeploy, resources });
    // The dry run first, through the CLI: every pod replaced, each fitting on the one host; nothing changes.
    const file = join(cluster.workDir, 'surge-next.json');
    await writeFile(file, next);
    const plan = await galaxyJob(['plan', file]);
    const diff = await galaxyJob(['diff', file]);
    console.log(`${plan}\n${diff}`);
    expect(plan).toMatch(/surge-0 on \S+: replace/);
    expect(plan).toMatch(/surge-2 → \S+/);
    expect(diff).toMatch(/resources\.cpu\.millicores: 100 → 150/);
    expect((await api.showJob({ name: 'surge' })).revision).toBe(before.revision);
    await api.updateJob({ specJson: next });
    const after = await cluster.settled('surge', 3);
    clearInterval(counting);
    const samples = await sampler.stop();
    console.log(`surge replace: ${samples.length} samples, min ${Math.min(...samples)}: ${samples.join(' ')}`);
    expect(samples.length).toBeGreaterThan(10);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(3);
    expect(most).toBeLessThanOrEqual(4);
    const old = new Set(before.pods.map((p) => p.taskId));
    expect(after.pods.filter((p) => old.has(p.taskId))).toEqual([]);
    expect(after.revision).toBe(before.revision + 1);
  });

  it('a version change moves pods in place, carried by one surge pod: 3 serve throughout, same containers', async () => {
    const { api } = cluster;
    const before = await api.showJob({ name: 'surge' });
    const sampler = sampleServing(api, 'surge');
    const resources = { cpu: { millicores: 150, excess: true }, memory: { hard: '128Mi' } };
    await api.updateJob({ specJson: cluster.spec('surge', '2.0.0', 3, { deploy: surgeDeploy, resources }) });
    const after = await cluster.settled('surge', 3);
    const samples = await sampler.stop();
    console.log(`surge in place: ${samples.length} samples, min ${Math.min(...samples)}: ${samples.join(' ')}`);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...samples)).toBe(4);
    expect(after.pods.every((p) => p.version === '2.0.0')).toBe(true);
    expect(after.pods.map((p) => p.taskId).sort()).toEqual(before.pods.map((p) => p.taskId).sort());
  });
});
