/**
 * The replay's outputs: one JSON line (what benchmarks print), and a report directory with SVG
 * charts of utilization, pending tasks, placements per second and preemptions over time, and a
 * markdown page putting Galaxy's pending delay beside the trace scheduler's, percentile by
 * percentile.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { lineChart } from './svg-chart.js';
import { PERCENTILES, type ReplayResult } from './replay.js';

/** The JSON line of a replay (no time series). */
export function replayLine(result: ReplayResult): Record<string, unknown> {
  return {
    sim: 'replay',
    source: result.source,
    agents: result.agents,
    speedup: result.speedup,
    groups: result.groups,
    tasks: result.tasks,
    started: result.started,
    placements: result.placements,
    preemptions: result.preemptions,
    kills: result.kills,
    register_s: result.registerS,
    stored_s: result.storedS,
    wall_s: result.wallS,
    galaxy_pending_s: result.galaxyDelayS,
    galaxy_submit_ack_s: result.submitAckS,
    trace_pending_s: result.traceDelayS,
    trace_first_pending_s: result.traceFirstDelayS,
    within_trace_pending: withinTrace(result),
    peak_cpu_util: Math.round(Math.max(0, ...result.samples.map((s) => s.cpuUtil)) * 1000) / 1000,
    peak_placements_per_s: Math.max(0, ...result.samples.map((s) => s.placements)),
    oversubscribe: result.oversubscribe,
    util_alloc_pct: result.utilAllocPct,
    util_with_reclaim_pct: result.utilWithReclaimPct,
    util_window: result.utilWindow,
    revocable_tasks: result.revocableTasks,
    revocable_evictions: result.revocableEvictions,
    rerun_after_eviction: result.rerunAfterEviction,
    batch_retries: result.batchRetries,
    master_rss_mib: result.masterRssMib,
    sim_memory_per_agent_kib: result.simMemoryPerAgentKib,
  };
}

/**
 * Per percentile, whether Galaxy's pending delay is at or below the trace scheduler's own (of every
 * schedule, the comparison): the goal of a replay.
 */
export function withinTrace(result: ReplayResult): Record<string, boolean> {
  return Object.fromEntries(
    Object.keys(result.galaxyDelayS).map((key) => [
      key,
      (result.galaxyDelayS[key] ?? Infinity) <= (result.traceDelayS[key] ?? -Infinity),
    ]),
  );
}

const pct = (v: number): string => `${Math.round(v * 100)}%`;

/** Writes `report.md`, `result.json` and the charts into `dir`; resolves with the report's path. */
export async function writeReport(result: ReplayResult, dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const x = result.samples.map((s) => s.traceS);
  const charts: Record<string, string> = {
    'utilization.svg': lineChart({
      title: 'Utilization of the cell (running tasks’ requests)',
      xLabel: 'trace time (s)',
      yLabel: 'share of the cell',
      x,
      yMax: Math.max(0.05, ...result.samples.map((s) => Math.max(s.cpuUtil, s.memUtil) * 1.1)),
      yFormat: pct,
      series: [
        { name: 'cpu', values: result.samples.map((s) => s.cpuUtil), color: '#1f77b4' },
        { name: 'memory', values: result.samples.map((s) => s.memUtil), color: '#ff7f0e' },
        // With reclamation: the regular tasks' share beside the whole (the gap is lent capacity).
        ...(result.oversubscribe
          ? [
              {
                name: 'cpu, regular only',
                values: result.samples.map((s) => s.cpuUtil - s.revocableCpuUtil),
                color: '#17becf',
              },
            ]
          : []),
      ],
    }),
    'pending.svg': lineChart({
      title: 'Tasks pending (submitted, not yet running) and running',
      xLabel: 'trace time (s)',
      yLabel: 'tasks',
      x,
      series: [
        { name: 'pending', values: result.samples.map((s) => s.pending), color: '#d62728' },
        { name: 'running', values: result.samples.map((s) => s.running), color: '#2ca02c' },
      ],
    }),
    'placements.svg': lineChart({
      title: 'Placements per wall second',
      xLabel: 'trace time (s)',
      yLabel: 'tasks started / s',
      x,
      series: [{ name: 'placements/s', values: result.samples.map((s) => s.placements), color: '#9467bd' }],
    }),
    'preemptions.svg': lineChart({
      title: 'Preemptions (master event log) and kills seen by agents, per wall second',
      xLabel: 'trace time (s)',
      yLabel: 'per second',
      x,
      series: [
        { name: 'preemptions', values: result.preemptionsPerSample, color: '#8c564b' },
        { name: 'tasks killed', values: result.samples.map((s) => s.kills), color: '#7f7f7f' },
      ],
    }),
  };
  for (const [name, svg] of Object.entries(charts)) await writeFile(join(dir, name), svg);
  const line = replayLine(result);
  await writeFile(join(dir, 'result.json'), `${JSON.stringify(line)}\n`);
  await writeFile(join(dir, 'samples.json'), `${JSON.stringify(result.samples)}\n`);
  const row = (p: number): string => {
    const key = `p${p}`;
    const within = (result.galaxyDelayS[key] ?? Infinity) <= (result.traceDelayS[key] ?? -Infinity);
    return `| ${key} | ${result.galaxyDelayS[key]} | ${result.submitAckS[key]} | ${result.traceFirstDelayS[key]} | ${result.traceDelayS[key]} | ${within ? 'yes' : 'no'} |`;
  };
  const md = [
    `# Replay of ${result.source}`,
    '',
    `${result.agents} simulated agents, ${result.tasks} tasks in ${result.groups} jobs, ${result.speedup}× speed-up; ` +
      `${result.started} tasks ran (${result.placements} placements), ${result.preemptions} preemptions. ` +
      `Agents registered in ${result.registerS} s, stored by the master ${result.storedS} s later (the trace began then); the replay took ${result.wallS} s of wall time.`,
    '',
    `Allocated cpu utilization (mean while tasks ${result.utilWindow === 'pending' ? 'pended' : 'ran'}): ${result.utilAllocPct}% by regular tasks, ` +
      `${result.utilWithReclaimPct}% with reclamation (${result.revocableTasks} tasks on revocable resources, ` +
      `${result.revocableEvictions} evicted; batch retries used: ${result.batchRetries}).`,
    '',
    '## Pending delay, submit → running, trace seconds',
    '',
    `Galaxy: each task's first RUNNING after its job's submit (wall time × ${result.speedup}). ` +
      `${result.scheduler}: SUBMIT → SCHEDULE in the same trace, of each task's first schedule and of every schedule.`,
    '',
    `| percentile | Galaxy | of which the submit call | ${result.scheduler} (first) | ${result.scheduler} (all) | Galaxy ≤ ${result.scheduler} |`,
    '|---|---|---|---|---|---|',
    ...PERCENTILES.map(row),
    '',
    '## Over time',
    '',
    ...Object.keys(charts).map((name) => `![${name}](${name})`),
    '',
    '```json',
    JSON.stringify(line),
    '```',
    '',
  ].join('\n');
  const path = join(dir, 'report.md');
  await writeFile(path, md);
  return path;
}
