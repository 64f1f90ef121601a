/**
 * A scaled-down replay (issue 16): the first 50 jobs of google2011's sample (1,066 tasks over
 * 153 trace seconds, production ones through the AppMaster) on its first 300 machines, at 20× speed, on
 * a real master process with the real frameworks and simulated agents in a shard process. Every
 * task must run, and the report must hold the charts and the delays beside Borg's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tracesDir } from './trace/paths.js';
import { afterAll, describe, expect, it } from 'vitest';
import { replay } from './replay.js';
import { writeReport } from './report.js';
import { loadWorkload } from './trace/load.js';
import { taskCount } from './trace/workload.js';

/** The slice of the Google trace kept in the repository (see fixtures/google2011/README.md). */
const FIXTURE = fileURLToPath(new URL('./fixtures/google2011/', import.meta.url));
const TRACE = join(FIXTURE, 'task_events_sample.csv.gz');
const MACHINES = join(FIXTURE, 'machines.csv');
const FULL_TRACE = join(tracesDir(), 'google2011', 'task_events_sample.csv.gz');

describe('galaxy sim replay, scaled down', () => {
  let out = '';
  afterAll(async () => {
    if (out !== '') await rm(out, { recursive: true, force: true });
  });

  it('runs every task of the first 50 jobs on 300 agents and reports', async () => {
    const workload = loadWorkload(TRACE, { limit: 50 });
    const tasks = taskCount(workload);
    expect(tasks).toBeGreaterThan(1000);
    expect(workload.groups.some((g) => g.band === 'production')).toBe(true);
    const result = await replay({
      workload,
      machinesCsv: MACHINES,
      agents: 300,
      speedup: 20,
      maxWallS: 90,
      identity: 'credential',
    });
    expect(result.agents).toBe(300);
    expect(result.started).toBe(tasks);
    expect(result.placements).toBeGreaterThanOrEqual(tasks);
    for (const key of ['p50', 'p90', 'p99']) {
      expect(result.galaxyDelayS[key]).toBeGreaterThanOrEqual(0);
      expect(result.traceDelayS[key]).toBeGreaterThan(0);
    }
    expect(Math.max(...result.samples.map((s) => s.cpuUtil))).toBeGreaterThan(0);
    expect(result.masterRssMib).toBeGreaterThan(0);
    out = await mkdtemp(join(tmpdir(), 'galaxy-sim-report-'));
    const report = await writeReport(result, out);
    const text = await readFile(report, 'utf8');
    expect(text).toContain('| p90 |');
    for (const chart of ['utilization.svg', 'pending.svg', 'placements.svg', 'preemptions.svg']) {
      expect(text).toContain(`](${chart})`);
      expect((await readFile(join(out, chart), 'utf8')).startsWith('<svg')).toBe(true);
    }
    expect(text).toContain('| Galaxy ≤ Borg |');
    const line = JSON.parse(await readFile(join(out, 'result.json'), 'utf8')) as Record<string, unknown>;
    expect(line).toMatchObject({ sim: 'replay', agents: 300, tasks, started: tasks });
    // Each percentile says whether Galaxy kept within Borg's delay (what it is depends on the machine's load).
    const within = line.within_trace_pending as Record<string, unknown>;
    expect(Object.keys(within).sort()).toEqual(Object.keys(result.galaxyDelayS).sort());
    for (const key of Object.keys(within))
      expect(within[key]).toBe((result.galaxyDelayS[key] ?? NaN) <= (result.traceDelayS[key] ?? NaN));
  }, 150_000);
});

describe('the trace slice in the repository', () => {
  it.runIf(existsSync(FULL_TRACE))('reads as the first 50 groups of the full sample', () => {
    const shape = (w: ReturnType<typeof loadWorkload>) =>
      w.groups.map((g) => [g.name, g.traceJob, g.tasks, g.submitS, g.durationS, g.traceFirstDelaysS]);
    expect(shape(loadWorkload(TRACE, { limit: 50 }))).toEqual(shape(loadWorkload(FULL_TRACE, { limit: 50 })));
  });
});

describe('traces the replayer refuses', () => {
  it('names what it reads instead', () => {
    expect(() => loadWorkload('/nowhere/jobs.csv')).toThrow(/task_events/);
    expect(existsSync(TRACE)).toBe(true);
  });
});
