/**
 * `galaxy sim replay <trace>`: replays a trace on a simulated cell of its own (a real master, the
 * real frameworks, simulated agents) and writes the report.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { replay } from './replay.js';
import { replayLine, writeReport } from './report.js';
import { loadWorkload, MACHINES_FILE, traceKind } from './trace/load.js';
import { positive } from './flags.js';

interface ReplayFlags {
  machines?: string;
  agents: string;
  speedup: string;
  until?: string;
  jobs?: string;
  maxWall: string;
  out: string;
  shards?: string;
  cpuProf?: string;
  identity: string;
  oversubscribe?: boolean;
}

/** Adds `galaxy sim replay`. */
export function addReplayCommand(sim: Command, _defaultMaster: string): void {
  sim
    .command('replay <trace>')
    .description(
      'replay a trace (google2011 task_events*.csv.gz, alibaba2023-gpu openb_pod_list*.csv) through the real frameworks on simulated agents; prints a JSON line and writes a report',
    )
    .option(
      '--machines <csv>',
      "the trace's machines (default: machines.csv, or openb_node_list_all_node.csv, beside the trace)",
    )
    .option('-n, --agents <n>', 'agents: the first n machines', '12489')
    .option('--speedup <x>', 'trace seconds per wall second', '10')
    .option('--until <s>', 'only jobs arriving within this many trace seconds of the first')
    .option('--jobs <n>', 'only the first n jobs (task groups)')
    .option('--max-wall <s>', 'stop after this many wall seconds even if tasks still pend', '900')
    .option('-o, --out <dir>', 'where the report goes', 'sim-report')
    .option('--shards <n>', 'agent processes (default one per 5,000 agents)')
    .option(
      '--identity <how>',
      'join: agents join with join tokens (the first start of a cell); credential: each with its own credential, issued beforehand',
      'join',
    )
    .option('--cpu-prof <dir>', "write the master's CPU profile (node --cpu-prof) into this directory")
    .option(
      '--oversubscribe',
      'reclamation: agents lend what the usage model says their regular tasks leave unused as revocable resources (batch takes them) and evict at load peaks; the report adds utilization with and without it',
    )
    .action(async (trace: string, flags: ReplayFlags) => {
      const machines = flags.machines ?? join(dirname(trace), MACHINES_FILE[traceKind(trace)]);
      if (!existsSync(machines))
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `no machines file ${machines}: pass --machines <csv>`);
      const workload = loadWorkload(trace, {
        untilS: flags.until === undefined ? undefined : positive(flags.until, '--until'),
        limit: flags.jobs === undefined ? undefined : positive(flags.jobs, '--jobs'),
      });
      if (flags.identity !== 'join' && flags.identity !== 'credential')
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `--identity must be join or credential, got "${flags.identity}"`,
        );
      const result = await replay({
        identity: flags.identity,
        workload,
        machinesCsv: machines,
        agents: positive(flags.agents, '--agents'),
        speedup: positive(flags.speedup, '--speedup'),
        maxWallS: positive(flags.maxWall, '--max-wall'),
        shards: flags.shards === undefined ? undefined : positive(flags.shards, '--shards'),
        cpuProfDir: flags.cpuProf === undefined ? undefined : resolve(flags.cpuProf),
        progress: (line) => process.stderr.write(`${line}\n`),
        oversubscribe: flags.oversubscribe === true,
      });
      const path = await writeReport(result, resolve(flags.out));
      process.stderr.write(`report: ${path}\n`);
      console.log(JSON.stringify(replayLine(result)));
    });
}
