import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/helpers/async-queue.js';
import { isAlive, killWithEnv } from '../../../test/helpers/processes.js';
import { WorkerAction } from '../../../proto/gen/galaxy/v1/appmaster.js';
import { JobSpecSchema } from '../spec/schema.js';
import { FakeAppMaster } from './fake-appmaster.js';
import { runAppWorkerFromEnv } from './main.js';
import { createPackage } from './package.js';

let dir: string;
let fake: FakeAppMaster;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-appworker-main-'));
  fake = await FakeAppMaster.start();
});

afterEach(async () => {
  fake.close();
  killWithEnv(`GALAXY_SANDBOX=${dir}`);
  await rm(dir, { recursive: true, force: true });
});

describe('runAppWorkerFromEnv', () => {
  it('refuses to run without its environment', async () => {
    expect(await runAppWorkerFromEnv({ GALAXY_APPMASTERS: fake.address })).toBe(2);
  });

  it('runs from the environment and stops the service on SIGTERM', async () => {
    const app = join(dir, 'app');
    await mkdir(app);
    await writeFile(join(app, 'run.sh'), 'echo $$ > "$GALAXY_SANDBOX/service.pid"\nexec sleep 60\n');
    const pkg = await createPackage(app, join(dir, 'app.tgz'));
    const sandbox = join(dir, 'sandbox');
    await mkdir(sandbox);
    fake.setOrder({
      action: WorkerAction.ACTION_DEPLOY,
      revision: 1,
      templateJson: JSON.stringify(
        JobSpecSchema.parse({
          name: 'sleeper',
          replicas: 1,
          resources: { cpu: { millicores: '100m' }, memory: { hard: '16Mi' } },
          package: { source: pkg.url, version: '1', sha256: pkg.sha256 },
          commands: { start: 'sh run.sh' },
          deploy: { stopTimeoutS: 2 },
        }),
      ),
    });
    const exit = runAppWorkerFromEnv({
      ...process.env,
      GALAXY_APPMASTERS: fake.address,
      GALAXY_JOB: 'sleeper',
      GALAXY_POD_ID: 'sleeper-0',
      GALAXY_TASK_ID: 'task-7',
      GALAXY_SANDBOX: sandbox,
    });
    const report = await eventually(() => (fake.report?.phase === 'running' ? fake.report : undefined), 10_000);
    expect(report).toMatchObject({ revision: 1, health: 'healthy' });
    expect(fake.pulls[0]).toMatchObject({ job: 'sleeper', podId: 'sleeper-0', taskId: 'task-7' });
    const pid = Number(await eventually(() => readFile(join(sandbox, 'service.pid'), 'utf8').catch(() => undefined)));
    expect(isAlive(pid)).toBe(true);

    process.emit('SIGTERM', 'SIGTERM');
    expect(await exit).toBe(0);
    expect(isAlive(pid)).toBe(false);
    expect(fake.report?.phase).toBe('stopped');
  });
});
