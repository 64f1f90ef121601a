/**
 * Attacks on other users' jobs, against a real cluster (`galaxy up` in its own process: master,
 * agent, AppMaster, batch on real gRPC; pods as plain processes), through the CLI's gRPC clients
 * and the CLI itself. alice and bob hold the same authorities in pool `default` — every verb's
 * own — but not `job:any`; alice runs a service and batch jobs. Each attack of bob's must be
 * refused with a clear coded error and change nothing: not the job (revision, replicas, spec,
 * owner), not its pod (the same container, still healthy, no command run in it), not its naming
 * entries, not its batch state.
 *
 * - exec, scale, update, pause, rollback, stop, recover and remove on alice's job:
 *   PERMISSION_DENIED naming job:any (the CLI exits 2 with it); an exec would have left a file;
 * - show of alice's job: refused, and her job is absent from bob's listing;
 * - a submit reusing her job's name: GALAXY_E_NAME_TAKEN, saying only that;
 * - a job publishing under her service's name: refused at submit, `galaxy resolve` answers her
 *   endpoints as before; the same for entries a removed job of hers left in naming;
 * - batch: show and cancel of her running job refused; her finished job's name cannot be taken
 *   over (before the rule, bob's submit replaced her job's record).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../core/coordinator/index.js';
import { publishEndpoints } from '../../frameworks/sdk/naming.js';
import { UpdateControl, type JobStatus } from '../../proto/gen/galaxy/v1/appmaster.js';
import { BatchJobSpec, BatchJobState, type BatchJob } from '../../proto/gen/galaxy/v1/batch.js';
import { eventually } from '../helpers/async-queue.js';
import { startUpCluster, type UpClients, type UpCluster, JOB_OWNER_VERBS } from '../helpers/up-cluster.js';
import { refusal } from '../helpers/refusal.js';

/** Every verb's own authority, and not job:any. */

let cluster: UpCluster;
let alice: UpClients;
let bob: UpClients;
let bobToken = '';
const tag = Math.random().toString(36).slice(2, 8);
const web = `web-${tag}`;
const pod = `${web}-0`;

/** The job as its owner sees it, without what moves on its own (pull times). */
async function snapshot(name: string): Promise<JobStatus> {
  const status = await alice.appmaster.showJob({ name });
  return { ...status, pods: status.pods.map((p) => ({ ...p, updatedAt: 0 })) };
}

const notHis = (name: string) =>
  `GALAXY_E_PERMISSION_DENIED: user bob lacks job:any in pool default to act on job "${name}", which is another user's; ` +
  `an admin can grant it with "galaxy grant bob default job:any"`;

/** The example service's spec, as `name`, from the package `galaxy up` built. */
async function serviceSpec(name: string, env: Record<string, string> = {}): Promise<string> {
  const pkg = join(cluster.workDir, 'packages', 'hello-service-1.0.0.tar.gz');
  const sha256 = createHash('sha256')
    .update(await readFile(pkg))
    .digest('hex');
  return JSON.stringify({
    name,
    band: 'batch',
    replicas: 1,
    ports: [{ name: 'http', port: 'dynamic' }],
    resources: { cpu: { millicores: 100, excess: true }, memory: { hard: '128Mi' } },
    package: { source: pathToFileURL(pkg).href, version: '1.0.0', sha256 },
    commands: { start: 'exec node server.mjs' },
    health: { type: 'http', port: 'http', path: '/health', intervalS: 0.5, timeoutS: 1, graceS: 5, failures: 3 },
    services: [{ name: 'web', port: 'http' }],
    env,
  });
}

beforeAll(async () => {
  cluster = await startUpCluster('job-owners', '[22300-22349]');
  alice = cluster.clients(await cluster.addUser('alice', 'default', JOB_OWNER_VERBS));
  bobToken = await cluster.addUser('bob', 'default', JOB_OWNER_VERBS);
  bob = cluster.clients(bobToken);
  await alice.appmaster.submitJob({ specJson: await serviceSpec(web) });
  await eventually(
    async () => (await alice.appmaster.showJob({ name: web })).message === '1/1 healthy',
    60_000,
    'her pod healthy',
  );
}, 150_000);

afterAll(async () => {
  await cluster.stop();
}, 30_000);

describe("attacks on another user's service job", { timeout: 60_000 }, () => {
  it('refuses exec in her pod (the CLI exits 2 with the denial); no command runs in it', async () => {
    expect(
      (await alice.appmaster.execPod({ name: web, podId: pod, command: 'echo mine', timeoutS: 5 })).stdout.trim(),
    ).toBe('mine');
    const before = await snapshot(web);
    const attack = await cluster.cli(bobToken, ['job', 'exec', '-a', cluster.appmaster, web, pod, '--', 'touch pwned']);
    expect(attack.code, attack.stderr).toBe(2);
    expect(attack.stderr).toContain(notHis(web));
    expect(
      (await refusal(bob.appmaster.execPod({ name: web, podId: pod, command: 'touch pwned', timeoutS: 5 }))).message,
    ).toBe(notHis(web));
    expect(
      (await alice.appmaster.execPod({ name: web, podId: pod, command: 'ls -a', timeoutS: 5 })).stdout.split('\n'),
    ).not.toContain('pwned');
    expect(await snapshot(web)).toEqual(before);
  });

  it('refuses scale, update, pause, rollback, stop, recover and remove; her job and pod stay as they were', async () => {
    const before = await snapshot(web);
    // Made before the attacks start: an await among them would leave a refusal unhandled meanwhile.
    const hisSpec = await serviceSpec(web, { OWNED: 'bob' });
    const attacks: [string, Promise<unknown>][] = [
      ['scale', bob.appmaster.scaleJob({ name: web, replicas: 3 })],
      ['update', bob.appmaster.updateJob({ specJson: hisSpec })],
      ['pause', bob.appmaster.controlUpdate({ name: web, control: UpdateControl.UPDATE_PAUSE })],
      ['rollback', bob.appmaster.controlUpdate({ name: web, control: UpdateControl.UPDATE_ROLLBACK })],
      ['stop', bob.appmaster.stopJob({ name: web })],
      ['recover', bob.appmaster.recoverPod({ name: web, podId: pod })],
      ['remove', bob.appmaster.removeJob({ name: web })],
    ];
    for (const [verb, attack] of attacks) {
      const error = await refusal(attack);
      expect(error.code, verb).toBe('GALAXY_E_PERMISSION_DENIED');
      expect(error.message, verb).toBe(notHis(web));
    }
    const after = await snapshot(web);
    expect(after).toEqual(before);
    expect(after).toMatchObject({ owner: 'alice', replicas: 1, revision: 1, message: '1/1 healthy' });
    expect(JSON.parse(after.specJson)).toMatchObject({ env: {} });
  });

  it('refuses show of her job, and her job is not in his listing', async () => {
    expect((await refusal(bob.appmaster.showJob({ name: web }))).message).toBe(notHis(web));
    expect(await bob.appmaster.listJobs({}).then((r) => r.jobs)).toEqual([]);
    // The admin sees every job, with its owner.
    const all = await cluster
      .clients(cluster.adminToken)
      .appmaster.listJobs({})
      .then((r) => r.jobs);
    expect(all.map((j) => [j.name, j.owner])).toEqual([
      ['hello', 'admin'],
      [web, 'alice'],
    ]);
  });

  it("refuses a submit reusing her job's name, saying only that it is taken", async () => {
    const before = await snapshot(web);
    const taken = await refusal(bob.appmaster.submitJob({ specJson: await serviceSpec(web, { OWNED: 'bob' }) }));
    expect(taken.code).toBe('GALAXY_E_NAME_TAKEN');
    expect(taken.message).toBe(`GALAXY_E_NAME_TAKEN: the job name "${web}" is taken; choose another name`);
    expect(await snapshot(web)).toEqual(before);
    expect(await bob.appmaster.listJobs({}).then((r) => r.jobs)).toEqual([]);
  });

  it("refuses a job publishing under her service's name; resolve keeps answering her endpoints", async () => {
    const resolve = async (name: string) => {
      const result = await cluster.cli(bobToken, ['resolve', name, '--coordinator', cluster.coordinator, '-o', 'json']);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as { podId: string; job: string }[];
    };
    const before = await resolve(web);
    expect(before.map((e) => e.podId)).toEqual([pod]);
    expect((await refusal(bob.appmaster.submitJob({ specJson: await serviceSpec(web) }))).code).toBe(
      'GALAXY_E_NAME_TAKEN',
    );
    expect(await resolve(web)).toEqual(before);

    // Entries a removed job of hers left in naming (its withdrawal failed) are hers too.
    const left = `left-${tag}`;
    const coordinator = await openCoordinator(cluster.coordinator);
    try {
      const stale = { service: 'web', job: left, podId: `${left}-0`, host: 'h', port: 1, healthy: true };
      await publishEndpoints(coordinator, left, `${left}-0`, [stale], { user: 'alice', uid: 'removed-job' });
    } finally {
      await coordinator.close();
    }
    const staleBefore = await resolve(left);
    expect(staleBefore).toHaveLength(1);
    const taken = await refusal(bob.appmaster.submitJob({ specJson: await serviceSpec(left) }));
    expect(taken.message).toBe(`GALAXY_E_NAME_TAKEN: the job name "${left}" is taken; choose another name`);
    expect(await resolve(left)).toEqual(staleBefore);
    expect((await refusal(cluster.clients(cluster.adminToken).appmaster.showJob({ name: left }))).code).toBe(
      'GALAXY_E_JOB_UNKNOWN',
    );
  });
});

describe("attacks on another user's batch jobs", { timeout: 60_000 }, () => {
  const batchJob = (name: string, command: string) =>
    BatchJobSpec.fromPartial({
      name,
      command,
      completions: 1,
      parallelism: 1,
      resources: { cpus: 100, mem: 16 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    });

  it('refuses show and cancel of her running job; it keeps running', async () => {
    const long = `long-${tag}`;
    await alice.batch.submit(batchJob(long, 'sleep 60'));
    await eventually(async () => (await alice.batch.show(long)).running === 1, 20_000, 'her batch task to run');
    expect((await refusal(bob.batch.show(long))).message).toBe(notHis(long));
    expect((await refusal(bob.batch.cancel(long))).message).toBe(notHis(long));
    expect(await bob.batch.list()).toEqual([]);
    expect(await alice.batch.show(long)).toMatchObject({ state: BatchJobState.BATCH_RUNNING, running: 1 });
    await alice.batch.cancel(long);
  });

  it("refuses taking over her finished job's name; her job's record stays hers", async () => {
    const done = `done-${tag}`;
    await alice.batch.submit(batchJob(done, 'true'));
    await eventually(
      async () => (await alice.batch.show(done)).state === BatchJobState.BATCH_SUCCEEDED,
      30_000,
      'her job to end',
    );
    const before: BatchJob = await alice.batch.show(done);
    const taken = await refusal(bob.batch.submit(batchJob(done, 'echo mine')));
    expect(taken.message).toBe(`GALAXY_E_NAME_TAKEN: the job name "${done}" is taken; choose another name`);
    expect(await alice.batch.show(done)).toEqual(before);
    expect(before).toMatchObject({ owner: 'alice', state: BatchJobState.BATCH_SUCCEEDED });
  });
});
