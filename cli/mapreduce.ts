/**
 * `galaxy mr wordcount <input> --maps M --reduces R [--output dir]`: submits a word count to the
 * MapReduce framework, follows it (a progress bar on a terminal, a line per change otherwise)
 * and ends with a summary; `galaxy mr show|cancel <name>`. The framework is found through
 * `--mapreduce <host:port>` or the coordinator, following a standby's NOT_LEADER answer.
 */
import { resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { MAPREDUCE_GROUP } from '../core/leader-locator.js';
import { MapReduceJobState, type MapReduceJob } from '../proto/gen/galaxy/v1/mapreduce.js';
import { frameworkTarget, LeaderClient } from './leader-client.js';
import { MapReduce } from './mapreduce-client.js';

/** Where `galaxy mr` finds the MapReduce framework when neither a flag nor the environment says. */
export const DEFAULT_MAPREDUCE = '127.0.0.1:5053';

/** The leading MapReduce framework. */
type MapReduceLeader = LeaderClient<MapReduce>;

/** Runs `fn` against the leading MapReduce framework, found as the flags and the environment say. */
async function withMapReduce<T>(
  flags: { mapreduce?: string; coordinator?: string },
  fn: (client: MapReduceLeader) => Promise<T>,
): Promise<T> {
  const target = frameworkTarget(
    { coordinator: flags.coordinator, address: flags.mapreduce },
    'GALAXY_MAPREDUCE',
    DEFAULT_MAPREDUCE,
  );
  const client = new LeaderClient(target, MAPREDUCE_GROUP, (address) => new MapReduce(address));
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

const DONE = new Set([
  MapReduceJobState.MAPREDUCE_SUCCEEDED,
  MapReduceJobState.MAPREDUCE_FAILED,
  MapReduceJobState.MAPREDUCE_CANCELLED,
]);

interface WordcountFlags {
  mapreduce?: string;
  coordinator?: string;
  maps: string;
  reduces: string;
  output?: string;
  name?: string;
  json?: boolean;
}

const stateName = (job: MapReduceJob): string => MapReduceJobState[job.state].replace(/^MAPREDUCE_/, '');

/** One line of progress, e.g. `MAPPING maps 3/4 ready, reduces 0/2 done, reruns 1`. */
function progressLine(job: MapReduceJob): string {
  const p = job.progress;
  return (
    `${stateName(job)} maps ${p?.mapsReady ?? 0}/${p?.maps ?? 0} ready, ` +
    `reduces ${p?.reducesDone ?? 0}/${p?.reduces ?? 0} done, reruns ${(p?.mapReruns ?? 0) + (p?.reduceReruns ?? 0)}`
  );
}

/** The closing summary. */
export function summaryOf(job: MapReduceJob): string {
  const p = job.progress;
  const s = job.summary;
  const wall = (job.finishedAt - job.submittedAt).toFixed(1);
  const lines = [
    `wordcount ${job.spec?.name ?? ''} ${stateName(job)} in ${wall} s${job.message ? `: ${job.message}` : ''}`,
    `  maps      ${p?.maps ?? 0} (re-run ${p?.mapReruns ?? 0})`,
    `  reduces   ${p?.reduces ?? 0} (re-run ${p?.reduceReruns ?? 0})`,
    `  words     ${s?.totalWords ?? 0} total, ${s?.distinctWords ?? 0} distinct`,
    `  hosts     ${[...new Set(job.tasks.map((t) => t.address.replace(/:\d+$/, '')))].join(' ')}`,
    `  output    ${job.spec?.output ?? ''} (${s?.outputFiles.length ?? 0} files)`,
  ];
  return lines.join('\n');
}

/** Follows a job until it ends; returns the final job. */
async function follow(client: MapReduceLeader, name: string): Promise<MapReduceJob> {
  const show = () => client.call((c) => c.show(name), { repeatable: true });
  let job = await show();
  const p = () => job.progress;
  const bar = process.stderr.isTTY
    ? new SingleBar({ format: '{bar} {line}', hideCursor: true }, Presets.shades_classic)
    : undefined;
  bar?.start((p()?.maps ?? 0) + (p()?.reduces ?? 0), 0, { line: progressLine(job) });
  let last = '';
  while (!DONE.has(job.state)) {
    await new Promise((r) => setTimeout(r, 200));
    job = await show();
    const line = progressLine(job);
    if (bar) bar.update((p()?.mapsReady ?? 0) + (p()?.reducesDone ?? 0), { line });
    else if (line !== last) console.error(line);
    last = line;
  }
  bar?.stop();
  return job;
}

/** Parses a whole number of tasks. */
function count(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag} must be a positive whole number, got "${value}"`);
  return n;
}

/** Adds `mr wordcount`, `mr show` and `mr cancel`. */
export function addMapReduceCommands(program: Command): void {
  const mr = program.command('mr').description('MapReduce jobs on the mapreduce framework');
  mr.command('wordcount')
    .description('count the words of every file in <input> (a directory the agents can read at the same path)')
    .argument('<input>')
    .option(
      '--mapreduce <host:port|url>',
      `the mapreduce framework API (default $GALAXY_MAPREDUCE, else ${DEFAULT_MAPREDUCE})`,
    )
    .option('--coordinator <url>', 'find the leading mapreduce framework through this coordinator')
    .option('--maps <n>', 'map tasks (byte ranges of the input)', '4')
    .option('--reduces <n>', 'reduce tasks (output partitions)', '2')
    .option('--output <dir>', 'where part-r-NNNNN files go (default ./wordcount-<name>)')
    .option('--name <name>', 'job name (default wc-<time>)')
    .option('--json', 'print the final job as JSON instead of the summary')
    .action(async (input: string, flags: WordcountFlags) => {
      const name = flags.name ?? `wc-${Date.now().toString(36)}`;
      const spec = {
        name,
        input: resolve(input),
        output: resolve(flags.output ?? `wordcount-${name}`),
        maps: count(flags.maps, '--maps'),
        reduces: count(flags.reduces, '--reduces'),
        maxAttempts: 0,
      };
      const job = await withMapReduce(flags, async (client) => {
        await client.call((c) => c.submit(spec));
        return follow(client, name);
      });
      console.log(flags.json ? JSON.stringify(job, null, 2) : summaryOf(job));
      if (job.state !== MapReduceJobState.MAPREDUCE_SUCCEEDED) process.exitCode = 1;
    });
  for (const verb of ['show', 'cancel'] as const) {
    mr.command(verb)
      .description(
        verb === 'show' ? 'one job: its progress, or its summary once ended' : 'cancel a job (kills its tasks)',
      )
      .argument('<name>')
      .option('--mapreduce <host:port|url>', 'the mapreduce framework API')
      .option('--coordinator <url>', 'find the leading mapreduce framework through this coordinator')
      .option('--json', 'print the job as JSON')
      .action(async (name: string, flags: { mapreduce?: string; coordinator?: string; json?: boolean }) => {
        const job = await withMapReduce(flags, (client) =>
          client.call((c) => (verb === 'show' ? c.show(name) : c.cancel(name)), { repeatable: verb === 'show' }),
        );
        console.log(
          flags.json ? JSON.stringify(job, null, 2) : DONE.has(job.state) ? summaryOf(job) : progressLine(job),
        );
      });
  }
}
