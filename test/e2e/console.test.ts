/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core against a real
 * `galaxy up` (its master serving the console and the HTTP API). A user logs in with a token, sees
 * the agent and the hello job, submits a job, rolls out a new version and watches its progress,
 * pauses and continues it; what the page shows (the agent's named disk too) is checked against the
 * API's own answer. The screenshots of the main pages are written to docs/console/ (shown in the README).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../core/paths.js';
import { startUpCluster, type UpCluster } from '../helpers/up-cluster.js';

/** Debian's Chromium (scripts/prerequisites.sh installs it). */
const CHROMIUM = process.env.GALAXY_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(packageRoot(), 'docs', 'console');

let cluster: UpCluster | undefined;
/** The agent's one named disk (`--disks`), shown on the overview. */
let diskDir: string | undefined;
let browser: Browser | undefined;
let page: Page;

/** The running cluster (set by beforeAll). */
function up(): UpCluster {
  if (!cluster) throw new Error('the cluster did not start');
  return cluster;
}
/** Errors the page raised (a script error, a refused resource): none are expected. */
const pageErrors: string[] = [];

interface JobJson {
  name?: string;
  version?: string;
  specJson?: string;
  pods?: { health?: string; version?: string }[];
  update?: { paused?: boolean; updated?: number; total?: number };
}

/** The job as the API (not the page) reports it. */
async function apiJob(name: string): Promise<JobJson> {
  const response = await fetch(`${up().console}api/v1/jobs/${name}`, {
    headers: { authorization: `Bearer ${up().adminToken}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as JobJson;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; the job: ${JSON.stringify(await apiJob('web'))}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  diskDir = await mkdtemp(join(tmpdir(), 'galaxy-console-disk-'));
  cluster = await startUpCluster('console', '[22600-22649]', { extraArgs: ['--disks', `ssd1:${diskDir}:ssd:256MiB`] });
  const launched = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  browser = launched;
  page = await launched.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[13]/.test(message.text())) pageErrors.push(message.text());
  });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  await cluster?.stop();
  if (diskDir) await rm(diskDir, { recursive: true, force: true });
}, 60_000);

describe('the web console in Chromium', { timeout: 60_000 }, () => {
  it('is served by the master, and refuses a wrong token at login', async () => {
    expect(up().console).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await page.goto(up().console);
    await page.getByTestId('token').fill('not-a-token');
    await page.getByTestId('login').click();
    await expect.poll(() => page.getByTestId('login-error').textContent()).toMatch(/GALAXY_E_UNAUTHENTICATED/);
    await page.screenshot({ path: join(SHOTS, 'login.png') });
  });

  it('logs in with the admin token and shows the agent and the DRF shares', async () => {
    await page.getByTestId('token').fill(up().adminToken);
    await page.getByTestId('login').click();
    await expect.poll(() => page.getByTestId('who').textContent()).toBe('admin (admin)');
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(1);
    const row = (await page.getByTestId('agent-row').textContent()) ?? '';
    expect(row).toMatch(/default/);
    expect(row).toMatch(/online/);
    // Its named disk, and the cluster's totals per medium, as the API gives them.
    const listing = await fetch(`${up().console}api/v1/agents`, {
      headers: { authorization: `Bearer ${up().adminToken}` },
    });
    const api = (await listing.json()) as {
      agents: { disks?: { name: string; capacity: number; used?: number }[] }[];
      media: { medium: string; capacity: number }[];
    };
    expect(api.agents[0]?.disks).toMatchObject([{ name: 'ssd1', medium: 'ssd', capacity: 256 * 1024 ** 2 }]);
    expect(api.media).toMatchObject([{ medium: 'ssd', disks: 1, capacity: 256 * 1024 ** 2 }]);
    await expect.poll(() => page.getByTestId('agent-disks').textContent()).toBe('ssd1 · ssd 0 B / 256 MiB');
    await expect
      .poll(() => page.getByTestId('medium-total').textContent())
      .toBe('ssd: 1 disk, 0 B used of 256 MiB, 256 MiB free');
    // The AppMaster's role holds the hello pod's resources: a bar in the role chart.
    await expect.poll(() => page.getByTestId('role-shares').locator('rect').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, 'overview.png') });
  });

  it('lists the frameworks and tasks', async () => {
    await page.goto(`${up().console}#/frameworks`);
    await expect.poll(() => page.getByTestId('frameworks').textContent()).toMatch(/appmaster.*batch|batch.*appmaster/s);
    await page.screenshot({ path: join(SHOTS, 'frameworks.png') });
    await page.goto(`${up().console}#/tasks`);
    await expect.poll(() => page.getByTestId('tasks').textContent()).toMatch(/running/);
  });

  it('shows the hello job with its pod', async () => {
    await page.goto(`${up().console}#/jobs`);
    await expect.poll(() => page.getByTestId('job-hello').textContent()).toMatch(/hello.*running/);
    await page.getByRole('link', { name: 'hello' }).click();
    await expect.poll(() => page.getByTestId('pod-row').count()).toBe(1);
    expect(await page.getByTestId('pod-row').textContent()).toMatch(/healthy/);
  });

  it('submits a job, rolls out a new version, pauses and continues it', { timeout: 400_000 }, async () => {
    // The hello job's spec as a new job of two replicas whose rollout waits 3 s per pod.
    const hello = JSON.parse((await apiJob('hello')).specJson ?? '{}') as Record<string, unknown>;
    const spec = {
      ...hello,
      name: 'web',
      replicas: 2,
      services: [],
      deploy: { ...(hello.deploy as object), step: 1, intervalS: 3 },
    };
    await page.goto(`${up().console}#/jobs`);
    await page.getByTestId('job-spec').fill(JSON.stringify(spec, null, 2));
    await page.screenshot({ path: join(SHOTS, 'jobs.png') });
    await page.getByTestId('submit-job').click();
    await page.waitForURL(/#\/jobs\/web$/);
    await until(
      'two healthy pods of web',
      async () => ((await apiJob('web')).pods?.filter((p) => p.health === 'healthy').length === 2 ? true : undefined),
      150_000,
    );
    await expect.poll(() => page.getByTestId('pod-row').count()).toBe(2);

    await page.getByTestId('new-version').fill('1.1.0');
    await page.getByTestId('update-version').click();
    await expect
      .poll(() => page.getByTestId('update-progress').textContent(), { timeout: 20_000 })
      .toMatch(/\/2 updated/);
    await page.getByTestId('pause').click();
    await expect.poll(() => page.getByTestId('update-progress').textContent()).toMatch(/paused/);
    // The AppMaster itself holds the update paused, and stays there.
    expect((await apiJob('web')).update?.paused).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'job-update.png') });
    const held = (await apiJob('web')).update?.updated ?? 0;
    await new Promise((r) => setTimeout(r, 4000));
    expect((await apiJob('web')).update?.updated ?? 0).toBeLessThanOrEqual(Math.max(held, 1));

    await page.getByTestId('continue').click();
    await until(
      'web at 1.1.0 on every pod, the update done',
      async () => {
        const job = await apiJob('web');
        const rolled = job.pods?.length === 2 && job.pods.every((p) => p.version === '1.1.0' && p.health === 'healthy');
        return job.version === '1.1.0' && rolled && job.update === undefined ? true : undefined;
      },
      150_000,
    );
    await expect.poll(() => page.getByTestId('update-progress').textContent()).toBe('no update in progress');
    expect(await page.getByTestId('job-version').textContent()).toBe('1.1.0');
    // A pod's log, followed through the master: the service's own line of the new revision.
    await page.getByTestId('logs').first().click();
    await expect
      .poll(() => page.getByTestId('log-text').textContent(), { timeout: 20_000 })
      .toMatch(/hello-service 1\.1\.0 listening on \d+/);
    expect(await page.getByTestId('log-state').textContent()).toBe('following');
    await page.screenshot({ path: join(SHOTS, 'job.png'), fullPage: true });
  });

  it('follows the event stream (master and AppMaster events) and shows usage per user', async () => {
    await page.goto(`${up().console}#/events`);
    await expect.poll(() => page.getByTestId('events-live').textContent()).toBe('following');
    // The persisted event log: the master's own events and those the AppMaster published (the
    // rollout of the previous test, with its job and the new revision).
    await expect.poll(() => page.getByTestId('events').textContent(), { timeout: 15_000 }).toMatch(/task\.running/);
    await expect.poll(() => page.getByTestId('events').textContent(), { timeout: 15_000 }).toMatch(/job\.update-done/);
    await page.screenshot({ path: join(SHOTS, 'events.png') });
    await page.goto(`${up().console}#/usage`);
    await expect.poll(() => page.locator('.legend').first().textContent()).toMatch(/admin/);
    await page.screenshot({ path: join(SHOTS, 'usage.png') });
    expect(pageErrors).toEqual([]);
  });
});
