/**
 * The batch framework hosted by the framework host, against a real master and agent (Linux
 * containers when root), driven through its gRPC API and the CLI.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgent, type Agent } from '../../agent/agent.js';
import { Batch } from '../../cli/batch-client.js';
import { autoIsolation } from '../../cli/up.js';
import { startMaster, type Master } from '../../master/master.js';
import { TaskState, Volume, Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';
import { BatchJobSpec, BatchJobState, type BatchJob } from '../../proto/gen/galaxy/v1/batch.js';
import { eventually } from '../../test/helpers/async-queue.js';
import { galaxy, killWithEnv, processesWithEnv } from '../../test/helpers/processes.js';
import { runFramework, type FrameworkHandle } from '../host/host.js';
import { createLogger } from '../../core/logger.js';

let workDir = '';
let scratch = '';
let master: Master;
let agent: Agent;
let host: FrameworkHandle;
let batch: Batch;
let running = 0;
let maxRunning = 0;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'galaxy-batch-'));
  // Tasks record what they did here: a host directory bound into each container, read-write. The
  // containers' roots are unprivileged host uids of their own, so it is writable by anyone.
  scratch = await mkdtemp(join(tmpdir(), 'galaxy-batch-scratch-'));
  await chmod(scratch, 0o1777);
  master = await startMaster({
    listen: '127.0.0.1:0',
    insecureNoAuth: true,
    logLevel: 'silent',
    timings: { allocationIntervalMs: 100 },
  });
  agent = await startAgent({
    master: master.address,
    workDir,
    resources: 'cpus:4;mem:4GiB',
    isolation: autoIsolation(),
    cgroupRoot: `galaxy-batch-test-${process.pid}`,
    allowedHostPaths: `${scratch}:rw`,
    logLevel: 'silent',
  });
  host = await runFramework('batch', {
    master: master.address,
    options: { listen: '127.0.0.1:0' },
    log: createLogger('batch', 'silent'),
  });
  host.hooks.statusUpdate.tap('count', (status) => {
    if (status.reason === 'reconciliation') return;
    if (status.state === TaskState.TASK_RUNNING) running += 1;
    if ([TaskState.TASK_FINISHED, TaskState.TASK_FAILED, TaskState.TASK_KILLED].includes(status.state)) running -= 1;
    maxRunning = Math.max(maxRunning, running);
  });
  batch = new Batch(host.framework.endpoint ?? '');
});

afterAll(async () => {
  batch.close();
  await host.stop();
  await agent.stop();
  await master.stop();
  const left = processesWithEnv(`GALAXY_SANDBOX=${workDir}`);
  killWithEnv(`GALAXY_SANDBOX=${workDir}`);
  await rm(workDir, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
  expect(left).toEqual([]);
});

const spec = (fields: Partial<BatchJobSpec>): BatchJobSpec =>
  BatchJobSpec.fromPartial({
    resources: { cpus: 100, mem: 16 * 1024 ** 2, disk: 0, gpus: 0, ports: [] },
    volumes: [Volume.fromPartial({ kind: Volume_Kind.BIND, path: scratch, hostPath: scratch, readOnly: false })],
    ...fields,
  });
const settled = (name: string): Promise<BatchJob> =>
  eventually(
    async () => {
      const job = await batch.show(name);
      return (
        [BatchJobState.BATCH_SUCCEEDED, BatchJobState.BATCH_FAILED, BatchJobState.BATCH_CANCELLED].includes(
          job.state,
        ) && job
      );
    },
    30_000,
    `job ${name} to end`,
  );

describe('batch framework', () => {
  it('runs indexed completions within the parallelism', async () => {
    maxRunning = 0;
    await batch.submit(
      spec({
        name: 'indexed',
        command: `touch ${scratch}/done-$GALAXY_COMPLETION_INDEX; sleep 0.2`,
        completions: 12,
        parallelism: 3,
      }),
    );
    const job = await settled('indexed');
    expect(job.state).toBe(BatchJobState.BATCH_SUCCEEDED);
    expect(job.succeeded).toBe(12);
    expect(maxRunning).toBeLessThanOrEqual(3);
    expect(maxRunning).toBeGreaterThan(1);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(scratch)).filter((f) => f.startsWith('done-')).sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `done-${i}`).sort(),
    );
  });

  it('retries a failed completion with backoff, and fails a job whose completions run out of retries', async () => {
    const flaky = `f=${scratch}/tried-$GALAXY_COMPLETION_INDEX; if [ -e $f ]; then exit 0; fi; touch $f; exit 1`;
    await batch.submit(spec({ name: 'flaky', command: flaky, completions: 4, backoffS: 0.1 }));
    const ok = await settled('flaky');
    expect(ok.state).toBe(BatchJobState.BATCH_SUCCEEDED);
    expect(ok.retried).toBe(4);
    await batch.submit(spec({ name: 'doomed', command: 'exit 3', completions: 2, maxRetries: 1, backoffS: 0.1 }));
    const doomed = await settled('doomed');
    expect(doomed.state).toBe(BatchJobState.BATCH_FAILED);
    expect(doomed.failed).toBe(2);
    expect(doomed.retried).toBe(2);
    expect(doomed.message).toContain('ran out of retries');
  });

  it('cancels a job and kills what it runs', async () => {
    await batch.submit(spec({ name: 'long', command: 'exec sleep 60', completions: 2 }));
    await eventually(async () => (await batch.show('long')).running === 2, 10_000, 'both running');
    const cancelled = await batch.cancel('long');
    expect(cancelled.state).toBe(BatchJobState.BATCH_CANCELLED);
    await eventually(async () => (await batch.show('long')).running === 0, 10_000, 'both killed');
  });

  it('refuses bad specs and duplicate live names, changing nothing', async () => {
    await expect(batch.submit(spec({ name: 'x', command: '' }))).rejects.toMatchObject({
      code: 'GALAXY_E_SPEC_INVALID',
      message: 'GALAXY_E_SPEC_INVALID: spec: command: is empty',
    });
    await expect(batch.submit(spec({ name: '../x', command: 'true' }))).rejects.toMatchObject({
      code: 'GALAXY_E_SPEC_INVALID',
    });
    await expect(batch.submit(spec({ name: 'x', command: 'true', band: 'urgent' }))).rejects.toMatchObject({
      code: 'GALAXY_E_SPEC_INVALID',
    });
    await batch.submit(spec({ name: 'twice', command: 'sleep 5' }));
    await expect(batch.submit(spec({ name: 'twice', command: 'true' }))).rejects.toMatchObject({
      code: 'GALAXY_E_TASK_DUPLICATE',
    });
    await batch.cancel('twice');
    expect((await batch.list()).map((j) => j.spec?.name)).not.toContain('x');
  });

  it('submits and follows a job from the CLI, ending with a summary', async () => {
    const cli = galaxy([
      'batch',
      'submit',
      '--batch',
      host.framework.endpoint ?? '',
      '--name',
      'from-cli',
      '--command',
      'true',
      '--completions',
      '5',
      '--resources',
      'cpus:0.1;mem:16MiB',
      '--wait',
      '-o',
      'json',
    ]);
    expect(await cli.exited).toBe(0);
    // `-o json` is the generated toJSON: enum names, not numbers.
    const [job] = JSON.parse(cli.lines.items.filter((l) => !l.startsWith('{"level"')).join('\n')) as {
      succeeded?: number;
      state?: string;
    }[];
    expect(job?.succeeded).toBe(5);
    expect(job?.state).toBe('BATCH_SUCCEEDED');
  });
});
