/**
 * Every daemon's metrics in a real cluster: `galaxy up --metrics-listen` (master, agent, AppMaster
 * and batch in one process, one endpoint), scraped over HTTP as Prometheus would. The scrape is
 * valid exposition text (`promtool check metrics`, Debian's prometheus package) and its key
 * series say what the cluster is: one agent registered and active, the AppMaster subscribed, the
 * example job's one pod running and healthy, one live container with its usage series, and a
 * batch job counted once it ran. A finished task's per-container series are gone.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchJobSpec } from '../../proto/gen/galaxy/v1/batch.js';
import { eventually } from '../helpers/async-queue.js';
import { startUpCluster, type UpCluster } from '../helpers/up-cluster.js';

const run = promisify(execFile);
let cluster: UpCluster;
let metricsUrl = '';

/** The value of the series `name{labels}` (labels as written in the scrape), or undefined. */
function value(scrape: string, series: string): number | undefined {
  const line = scrape.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function scrape(): Promise<string> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  return response.text();
}

/** Runs `promtool check metrics` on `text`; resolves with its output (it exits non-zero on a problem). */
async function promtool(text: string): Promise<string> {
  const child = run('promtool', ['check', 'metrics']);
  child.child.stdin?.end(text);
  const { stdout, stderr } = await child;
  return stdout + stderr;
}

beforeAll(async () => {
  cluster = await startUpCluster('metrics', '[22750-22799]', { extraArgs: ['--metrics-listen', '127.0.0.1:0'] });
  const line = await cluster.up.lines.waitFor((l) => l.startsWith('metrics at '), 5_000, 'the metrics line');
  metricsUrl = line.slice('metrics at '.length).trim();
}, 120_000);

afterAll(async () => {
  await cluster.stop();
}, 60_000);

describe('galaxy up --metrics-listen', () => {
  it('serves valid exposition text that promtool accepts, with every daemon in it', async () => {
    const text = await scrape();
    await expect(promtool(text)).resolves.toBeDefined();
    for (const prefix of ['galaxy_master_', 'galaxy_agent_', 'galaxy_appmaster_', 'galaxy_batch_', 'galaxy_process_'])
      expect(text, prefix).toContain(`\n${prefix}`);
  });

  it("serves the master's metrics on its HTTP port too, to a caller with a token", async () => {
    const url = `${cluster.console}metrics`;
    expect((await fetch(url)).status).toBe(401);
    const response = await fetch(url, { headers: { authorization: `Bearer ${cluster.adminToken}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    await expect(promtool(text)).resolves.toBeDefined();
    expect(value(text, 'galaxy_master_agents_registered')).toBe(1);
    // The master's registry alone: the other daemons are on --metrics-listen.
    expect(text).not.toContain('\ngalaxy_appmaster_');
  });

  it('says what the cluster is: one agent, its frameworks, the example pod running and healthy', async () => {
    const text = await eventually(
      async () => {
        const t = await scrape();
        return value(t, 'galaxy_appmaster_pods_health{health="healthy"}') === 1 ? t : undefined;
      },
      30_000,
      'the example pod healthy in the metrics',
    );
    expect(value(text, 'galaxy_master_agents_registered')).toBe(1);
    expect(value(text, 'galaxy_master_agents{state="active"}')).toBe(1);
    expect(value(text, 'galaxy_master_agents{state="disconnected"}')).toBe(0);
    // AppMaster, batch and MapReduce.
    expect(value(text, 'galaxy_master_frameworks{state="active"}')).toBe(3);
    expect(value(text, 'galaxy_master_tasks{state="running"}')).toBe(1);
    expect(value(text, 'galaxy_master_allocation_run_duration_seconds_count')).toBeGreaterThan(0);
    expect(value(text, 'galaxy_appmaster_jobs{state="running"}')).toBe(1);
    expect(value(text, 'galaxy_appmaster_pods{phase="running"}')).toBe(1);
    expect(value(text, 'galaxy_appmaster_pull_duration_seconds_count')).toBeGreaterThan(0);
    expect(value(text, 'galaxy_agent_containers{kind="process"}')).toBe(1);
    expect(value(text, 'galaxy_agent_launch_duration_seconds_count')).toBe(1);
    expect(value(text, 'galaxy_master_events_kept')).toBeGreaterThan(0);
    // The one live task has its usage series (plain processes measure nothing: zeros).
    expect(text.match(/^galaxy_agent_container_memory_bytes\{/gm)).toHaveLength(1);
  });

  it('counts a batch job and its completions, and drops the series of its finished task', async () => {
    const { batch } = cluster.clients(cluster.adminToken);
    const name = `count-${Math.random().toString(36).slice(2, 8)}`;
    await batch.submit(
      BatchJobSpec.fromPartial({
        name,
        command: 'true',
        completions: 1,
        parallelism: 1,
        band: 'batch',
        resources: { cpus: 100, mem: 32 * 1024 * 1024 },
      }),
    );
    const text = await eventually(
      async () => {
        const t = await scrape();
        return value(t, 'galaxy_batch_jobs{state="succeeded"}') === 1 ? t : undefined;
      },
      30_000,
      'the batch job succeeded in the metrics',
    );
    expect(value(text, 'galaxy_batch_completions{outcome="succeeded"}')).toBe(1);
    expect(value(text, 'galaxy_batch_task_ends_total{outcome="succeeded"}')).toBe(1);
    expect(value(text, 'galaxy_batch_retries_total')).toBe(0);
    // Only the service's container is live again: the batch task's series went with it.
    const settled = await eventually(
      async () => {
        const t = await scrape();
        return value(t, 'galaxy_agent_containers{kind="process"}') === 1 ? t : undefined;
      },
      10_000,
      'the batch task gone from the agent',
    );
    expect(settled.match(/^galaxy_agent_container_memory_bytes\{/gm)).toHaveLength(1);
    expect(value(settled, 'galaxy_agent_launch_duration_seconds_count')).toBe(2);
  });
});
