/**
 * Every deploy verb on real containers, through the `galaxy` CLI as a user runs it where it
 * matters, sampling every pod's service over HTTP the whole time: a canary update holds with 1
 * pod moved and `job show` says so, promote rolls the rest; abort rolls the canary back; pause
 * holds and continue goes on; cancel stops with pods where they are; `rollback --to` rolls a kept
 * revision out. All in place: the containers stay the same, and at least 2 of 3 pods serve
 * (step 1) throughout.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpdateControl, type JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { sampleServing, startDeployCluster, type DeployCluster } from '../helpers/deploy-cluster.js';
import { GALAXY_BIN } from '../helpers/processes.js';

const run = promisify(execFile);
let cluster: DeployCluster;
const deploy = { step: 1, intervalS: 0.5, stopTimeoutS: 2, maxFailures: 1, deployTimeoutS: 60 };
const spec = (version: string, extra: Record<string, unknown> = {}) =>
  cluster.spec('verbs', version, 3, { deploy, ...extra });

/** `galaxy job …args` against the cluster's AppMaster; the transcript line and output. */
async function galaxyJob(args: string[]): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    [GALAXY_BIN, 'job', ...args, '--appmaster', cluster.appmaster.framework.endpoint ?? ''],
    { env: { ...process.env, NO_COLOR: '1', GALAXY_LOG_LEVEL: 'warn' }, timeout: 30_000 },
  );
  return `$ galaxy job ${args.join(' ')}\n${stdout}`;
}

const containers = (job: JobStatus) => job.pods.map((p) => p.taskId).sort();
const versions = (job: JobStatus) => job.pods.map((p) => p.version).sort();

beforeAll(async () => {
  cluster = await startDeployCluster('deploy-verbs', '[20400-20499]');
  await cluster.api.submitJob({ specJson: spec('1.0.0') });
  await cluster.settled('verbs', 3);
}, 90_000);
afterAll(async () => {
  expect(await cluster.stop()).toEqual([]);
}, 60_000);

describe('deploy verbs on real containers', { timeout: 120_000 }, () => {
  it('update --canary 1 holds with one pod moved; promote rolls the rest (CLI)', async () => {
    const before = await cluster.api.showJob({ name: 'verbs' });
    const file = join(cluster.workDir, 'verbs-2.json');
    await writeFile(file, spec('2.0.0'));
    const sampler = sampleServing(cluster.api, 'verbs');
    const transcript = [await galaxyJob(['update', file, '--canary', '1'])];
    const held = await cluster.until('verbs', (j) => j.update?.paused === true, 'the canary hold');
    transcript.push(await galaxyJob(['show', 'verbs']));
    expect(held.update).toMatchObject({ canary: 1, updated: 1 });
    expect(held.update?.pausedReason).toMatch(/^canary/);
    expect(versions(held)).toEqual(['1.0.0', '1.0.0', '2.0.0']);
    // Held means held.
    await new Promise((r) => setTimeout(r, 1500));
    expect(versions(await cluster.api.showJob({ name: 'verbs' }))).toEqual(['1.0.0', '1.0.0', '2.0.0']);
    transcript.push(await galaxyJob(['promote', 'verbs']));
    const after = await cluster.settled('verbs', 3);
    transcript.push(await galaxyJob(['show', 'verbs']));
    const samples = await sampler.stop();
    console.log(`${transcript.join('\n')}\nHTTP samples (min ${Math.min(...samples)}): ${samples.join(' ')}`);
    expect(versions(after)).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    expect(containers(after)).toEqual(containers(before));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
  });

  it('abort rolls the canary back to the revision before', async () => {
    const before = await cluster.api.showJob({ name: 'verbs' });
    const sampler = sampleServing(cluster.api, 'verbs');
    await cluster.api.updateJob({ specJson: spec('3.0.0'), canary: 1 });
    await cluster.until('verbs', (j) => j.update?.paused === true, 'the canary hold');
    const aborted = await cluster.api.controlUpdate({ name: 'verbs', control: UpdateControl.UPDATE_ABORT });
    expect(aborted.update?.rollingBack).toBe(true);
    const after = await cluster.settled('verbs', 3);
    const samples = await sampler.stop();
    expect(versions(after)).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    expect(containers(after)).toEqual(containers(before));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
  });

  it('pause holds the update where it is; continue goes on', async () => {
    const before = await cluster.api.showJob({ name: 'verbs' });
    const sampler = sampleServing(cluster.api, 'verbs');
    await cluster.api.updateJob({ specJson: spec('3.0.0') });
    const paused = await cluster.api.controlUpdate({ name: 'verbs', control: UpdateControl.UPDATE_PAUSE });
    expect(paused.state).toBe('paused');
    await new Promise((r) => setTimeout(r, 2500));
    const still = await cluster.api.showJob({ name: 'verbs' });
    expect(still.pods.filter((p) => p.version === '3.0.0').length).toBeLessThanOrEqual(1);
    await cluster.api.controlUpdate({ name: 'verbs', control: UpdateControl.UPDATE_CONTINUE });
    const after = await cluster.settled('verbs', 3);
    const samples = await sampler.stop();
    expect(versions(after)).toEqual(['3.0.0', '3.0.0', '3.0.0']);
    expect(containers(after)).toEqual(containers(before));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
  });

  it('cancel stops rolling: pods keep the revision they run', async () => {
    const before = await cluster.api.showJob({ name: 'verbs' });
    await cluster.api.updateJob({ specJson: spec('1.0.0', { deploy: { ...deploy, intervalS: 30 } }) });
    await cluster.until(
      'verbs',
      (j) => j.pods.some((p) => p.version === '1.0.0' && p.health === 'healthy'),
      'one moved',
    );
    const cancelled = await cluster.api.controlUpdate({ name: 'verbs', control: UpdateControl.UPDATE_CANCEL });
    expect(cancelled.update).toBeUndefined();
    await new Promise((r) => setTimeout(r, 2000));
    const after = await cluster.api.showJob({ name: 'verbs' });
    expect(versions(after)).toEqual(['1.0.0', '3.0.0', '3.0.0']);
    expect(containers(after)).toEqual(containers(before));
  });

  it('rollback --to a kept revision rolls it out again as a new revision (CLI history)', async () => {
    const before = await cluster.api.showJob({ name: 'verbs' });
    const sampler = sampleServing(cluster.api, 'verbs');
    const history = await galaxyJob(['history', 'verbs']);
    console.log(history);
    expect(history).toMatch(/rebuild/);
    const rolled = await cluster.api.controlUpdate({
      name: 'verbs',
      control: UpdateControl.UPDATE_ROLLBACK,
      toRevision: 2,
    });
    expect(rolled.revision).toBeGreaterThan(before.revision);
    const after = await cluster.settled('verbs', 3);
    const samples = await sampler.stop();
    expect(versions(after)).toEqual(['2.0.0', '2.0.0', '2.0.0']);
    expect(containers(after)).toEqual(containers(before));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(2);
    expect((await cluster.api.jobHistory({ name: 'verbs' })).revisions[0]).toMatchObject({
      kind: 'rollback',
      fromRevision: 2,
      current: true,
    });
  });
});
