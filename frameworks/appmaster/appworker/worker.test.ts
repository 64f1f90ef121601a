import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/helpers/async-queue.js';
import { isAlive, killWithEnv } from '../../../test/helpers/processes.js';
import { PullRequest, WorkerAction, type WorkerReport } from '../../../proto/gen/galaxy/v1/appmaster.js';
import { MAX_EXEC_OUTPUT_BYTES, PULL_EXEC_BUDGET_BYTES } from '../exec-output.js';
import { JobSpecSchema } from '../spec/schema.js';
import { FakeAppMaster, freePort } from './fake-appmaster.js';
import { createPackage, type BuiltPackage } from './package.js';
import { AppWorker } from './worker.js';

const HELLO = fileURLToPath(new URL('../../../examples/hello-service', import.meta.url));
const { ACTION_DEPLOY, ACTION_REBUILD, ACTION_RELOAD, ACTION_NONE, ACTION_STOP, ACTION_START, ACTION_EXIT } =
  WorkerAction;

let packages: string;
let hello: BuiltPackage;
let firstData: BuiltPackage;
let secondData: BuiltPackage;

beforeAll(async () => {
  packages = await mkdtemp(join(tmpdir(), 'galaxy-worker-packages-'));
  hello = await createPackage(HELLO, join(packages, 'hello.tgz'));
  for (const [name, text] of [
    ['first', 'first data'],
    ['second', 'second data'],
  ] as const) {
    await mkdir(join(packages, name));
    await writeFile(join(packages, name, 'message.txt'), `${text}\n`);
  }
  firstData = await createPackage(join(packages, 'first'), join(packages, 'first.tgz'));
  secondData = await createPackage(join(packages, 'second'), join(packages, 'second.tgz'));
});

afterAll(async () => {
  await rm(packages, { recursive: true, force: true });
});

let sandbox: string;
let fake: FakeAppMaster;
let worker: AppWorker;
let port: number;

beforeEach(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'galaxy-worker-'));
  fake = await FakeAppMaster.start();
  fake.pullIntervalMs = 100;
  port = await freePort();
  worker = new AppWorker({
    appmasters: [fake.address],
    job: 'hello',
    podId: 'hello-0',
    taskId: 'task-0',
    sandbox,
    retryMs: { initialMs: 50, maxMs: 200 },
  });
  worker.start();
});

afterEach(async () => {
  await Promise.race([worker.stop(), new Promise((r) => setTimeout(r, 8000))]);
  fake.close();
  killWithEnv(`GALAXY_SANDBOX=${sandbox}`);
  await rm(sandbox, { recursive: true, force: true });
});

/** The pod template of one revision, in the AppMaster's parsed JSON form. */
function template(
  version: string,
  options: { data?: BuiltPackage; sha256?: string; env?: Record<string, string> } = {},
) {
  const data = options.data;
  return JSON.stringify(
    JobSpecSchema.parse({
      name: 'hello',
      replicas: 1,
      ports: [{ name: 'http' }],
      resources: { cpu: { millicores: '250m' }, memory: { hard: '64Mi' } },
      package: { source: hello.url, version, sha256: options.sha256 ?? hello.sha256 },
      commands: { start: `exec '${process.execPath}' server.mjs`, reload: 'echo "$GALAXY_VERSION" >> reload.log' },
      health: { type: 'http', port: 'http', path: '/health', intervalS: 0.1, graceS: 5, failures: 2 },
      data: data
        ? [{ name: 'content', dest: 'data/content', source: data.url, version: '1', sha256: data.sha256 }]
        : [],
      env: options.env ?? {},
      deploy: { stopTimeoutS: 3 },
      failure: { backoffS: 0.3, maxBackoffS: 1 },
    }),
  );
}

function order(action: WorkerAction, revision: number, templateJson = '') {
  return { action, revision, templateJson, assignedPorts: { http: port } };
}

/** Waits for a report that satisfies `check`. */
function reported(check: (r: WorkerReport) => boolean, what: string, timeoutMs = 10_000): Promise<WorkerReport> {
  return eventually(() => (fake.report && check(fake.report) ? fake.report : undefined), timeoutMs, what);
}

const healthyAt = (revision: number) => (r: WorkerReport) =>
  r.phase === 'running' && r.health === 'healthy' && r.revision === revision;

interface Hello {
  version: string;
  pod: string;
  pid: number;
  message: string;
}

async function get(): Promise<Hello> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  return (await response.json()) as Hello;
}

describe('AppWorker', () => {
  it('deploys, ignores a repeated deploy, rebuilds in place and reloads data without a restart', async () => {
    fake.setOrder(order(ACTION_DEPLOY, 1, template('1.0.0', { data: firstData })));
    await reported(healthyAt(1), 'v1 healthy');
    const phases = fake.pulls.map((p) => p.report?.phase);
    expect(phases).toContain('deploying');
    expect(phases.indexOf('deploying')).toBeLessThan(phases.indexOf('running'));
    const v1 = await get();
    expect(v1).toMatchObject({ version: '1.0.0', pod: 'hello-0', message: 'first data' });
    expect(fake.pulls[0]).toMatchObject({ job: 'hello', podId: 'hello-0', taskId: 'task-0', waitMs: 2500 });

    // The AppMaster keeps repeating DEPLOY of revision 1: nothing restarts.
    const seen = fake.pulls.length;
    await eventually(() => fake.pulls.length >= seen + 3, 5000, 'three more pulls');
    expect((await get()).pid).toBe(v1.pid);
    expect(fake.report).toMatchObject({ restarts: 0, revision: 1 });

    fake.setOrder(order(ACTION_REBUILD, 2, template('2.0.0', { data: firstData })));
    await reported(healthyAt(2), 'v2 healthy');
    const v2 = await get();
    expect(v2.version).toBe('2.0.0');
    expect(v2.pid).not.toBe(v1.pid);
    expect(isAlive(v1.pid)).toBe(false);
    expect((await readdir(join(sandbox, 'releases'))).sort()).toEqual(['1', '2']);

    fake.setOrder(order(ACTION_RELOAD, 3, template('2.0.0', { data: secondData })));
    await reported((r) => r.dataRevision === 3, 'data revision 3');
    expect(fake.report).toMatchObject({ revision: 2, phase: 'running', health: 'healthy', message: '' });
    const reloaded = await get();
    expect(reloaded).toMatchObject({ pid: v2.pid, message: 'second data', version: '2.0.0' });
    expect(await readFile(join(sandbox, 'releases', '2', 'reload.log'), 'utf8')).toBe('2.0.0\n');
  });

  it('runs execs in the release directory and reports each result until delivered', async () => {
    fake.exec({ execId: 'before', command: 'pwd', timeoutS: 5 });
    await eventually(() => fake.results.get('before'), 5000, 'the first exec');
    expect(fake.results.get('before')).toEqual({ exitCode: 0, stdout: `${sandbox}\n`, stderr: '' });

    fake.setOrder(order(ACTION_DEPLOY, 1, template('1.0.0', { env: { GREETING: 'hi' } })));
    await reported(healthyAt(1), 'v1 healthy');
    fake.exec({
      execId: 'ok',
      command: 'pwd; echo "$GREETING $GALAXY_VERSION $PORT_HTTP"; echo err >&2; exit 4',
      timeoutS: 5,
    });
    fake.exec({ execId: 'slow', command: 'sleep 20', timeoutS: 0.3 });
    await eventually(() => fake.results.has('ok') && fake.results.has('slow'), 5000, 'both execs');
    expect(fake.results.get('ok')).toEqual({
      exitCode: 4,
      stdout: `${join(sandbox, 'releases', '1')}\nhi 1.0.0 ${port}\n`,
      stderr: 'err\n',
    });
    expect(fake.results.get('slow')?.exitCode).toBe(-1);

    const seen = fake.pulls.length;
    await eventually(() => fake.pulls.length >= seen + 3, 5000, 'three more pulls');
    expect(fake.pulls.slice(seen + 1).every((p) => p.report?.execResults.length === 0)).toBe(true);
  });

  it('bounds what execs print, so a flood of output never breaks the pulls', async () => {
    // 0xff is not UTF-8: each byte decodes to U+FFFD, three bytes, so the raw cap alone would not do.
    const flood = "head -c 20M /dev/zero | tr '\\0' '\\377'; head -c 20M /dev/zero | tr '\\0' '\\377' >&2";
    for (const execId of ['a', 'b', 'c', 'd']) fake.exec({ execId, command: flood, timeoutS: 30 });
    await eventually(() => ['a', 'b', 'c', 'd'].every((id) => fake.results.has(id)), 20_000, 'four results');
    for (const result of fake.results.values()) {
      expect(result.exitCode).toBe(0);
      for (const stream of [result.stdout, result.stderr]) {
        expect(Buffer.byteLength(stream)).toBeLessThanOrEqual(MAX_EXEC_OUTPUT_BYTES);
        expect(stream).toMatch(/\[galaxy: output truncated to 262144 bytes; \d+ bytes were printed\]\n$/);
      }
    }
    const sizes = fake.pulls.map((p) => PullRequest.encode(p).finish().byteLength);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(PULL_EXEC_BUDGET_BYTES + 64 * 1024);
    // And the pod keeps pulling.
    fake.exec({ execId: 'after', command: 'echo still here', timeoutS: 5 });
    await eventually(() => fake.results.get('after'), 5000, 'an exec after the flood');
    expect(fake.results.get('after')?.stdout).toBe('still here\n');
  });

  it('restarts a crashed service with backoff and reports the crash at once', async () => {
    fake.setOrder(order(ACTION_DEPLOY, 1, template('1.0.0')));
    await reported(healthyAt(1), 'v1 healthy');
    fake.pullIntervalMs = 60_000;
    fake.setOrder({ action: ACTION_NONE });
    const before = await get();
    // Let the worker settle into a held pull, which the crash must interrupt.
    const pulls = fake.pulls.length;
    await eventually(() => fake.pulls.length > pulls, 5000, 'a held pull');
    const crashedAt = Date.now();
    await fetch(`http://127.0.0.1:${port}/crash`);
    const delayed = await reported((r) => r.phase === 'delayed', 'phase delayed', 2000);
    expect(Date.now() - crashedAt).toBeLessThan(1500);
    expect(delayed.lastExitCode).toBe(1);
    expect(delayed.delayedUntil).toBeGreaterThan(crashedAt);
    expect(delayed.delayedUntil).toBeLessThanOrEqual(Date.now() + 300);

    const restarted = await reported((r) => healthyAt(1)(r) && r.restarts === 1, 'restarted and healthy');
    expect(restarted.lastExitCode).toBe(1);
    const after = await get();
    expect(after.pid).not.toBe(before.pid);
    expect(isAlive(before.pid)).toBe(false);
  });

  it('reports a failed deploy, and a later good one recovers', async () => {
    fake.setOrder(order(ACTION_DEPLOY, 1, template('1.0.0', { sha256: 'f'.repeat(64) })));
    const failed = await reported((r) => r.phase === 'failed', 'phase failed');
    expect(failed.revision).toBe(0);
    expect(failed.message).toContain('checksum');
    expect(failed.message).toContain('f'.repeat(64));
    // The repeated order is retried after a backoff, not in a tight loop.
    const pullsBefore = fake.pulls.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.pulls.length - pullsBefore).toBeLessThan(10);
    fake.setOrder(order(ACTION_DEPLOY, 2, template('2.0.0')));
    const ok = await reported(healthyAt(2), 'v2 healthy');
    expect(ok.message).toBe('');
  });

  it('stops and starts on order, and EXIT stops everything', async () => {
    fake.setOrder(order(ACTION_DEPLOY, 1, template('1.0.0')));
    await reported(healthyAt(1), 'v1 healthy');
    const first = await get();
    fake.setOrder(order(ACTION_STOP, 1));
    await reported((r) => r.phase === 'stopped', 'phase stopped');
    expect(isAlive(first.pid)).toBe(false);
    expect(fake.report).toMatchObject({ health: 'unknown', lastExitCode: 0 });
    // The AppMaster repeats STOP on every pull; a repeat is a no-op, not a storm of pulls.
    const pullsBefore = fake.pulls.length;
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.pulls.length - pullsBefore).toBeLessThan(10);

    fake.setOrder(order(ACTION_START, 1));
    await reported(healthyAt(1), 'running again');
    const second = await get();

    fake.setOrder(order(ACTION_EXIT, 1));
    await worker.done;
    expect(isAlive(second.pid)).toBe(false);
    expect(fake.report?.phase).toBe('stopped');
  });

  it('keeps the service running while the AppMaster is unreachable', async () => {
    fake.setOrder(order(ACTION_DEPLOY, 1, template('1.0.0')));
    await reported(healthyAt(1), 'v1 healthy');
    const before = await get();
    fake.close();
    await new Promise((r) => setTimeout(r, 800));
    expect((await get()).pid).toBe(before.pid);
    await worker.stop();
    await worker.done;
    expect(isAlive(before.pid)).toBe(false);
  });
});
