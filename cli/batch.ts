/**
 * `galaxy framework run` and `galaxy batch submit|list|show|cancel`.
 */
import { readFile } from 'node:fs/promises';
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { GalaxyError } from '../core/errors.js';
import { parseResources } from '../core/resources.js';
import { BatchJobSpec, BatchJobState, type BatchJob } from '../proto/gen/galaxy/v1/batch.js';
import { Volume, Volume_Kind } from '../proto/gen/galaxy/v1/common.js';
import { runFramework } from '../frameworks/host/host.js';
import { Batch } from './batch-client.js';
import { parseOutputFormat, render, type Column } from './output.js';
import { insecureWarning, untilSignal } from './daemons.js';
import { coordinatorAuth } from './auth.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';

const JOB_COLUMNS: Column<BatchJob>[] = [
  { heading: 'NAME', value: (j) => j.spec?.name ?? '' },
  { heading: 'OWNER', value: (j) => j.owner },
  { heading: 'STATE', value: (j) => BatchJobState[j.state].replace(/^BATCH_/, '') },
  { heading: 'SUCCEEDED', value: (j) => `${j.succeeded}/${j.spec?.completions ?? 0}` },
  { heading: 'FAILED', value: (j) => j.failed },
  { heading: 'RETRIED', value: (j) => j.retried },
  { heading: 'RUNNING', value: (j) => j.running },
  { heading: 'PENDING', value: (j) => j.pending },
  { heading: 'WALL-S', value: (j) => (j.finishedAt > 0 ? (j.finishedAt - j.submittedAt).toFixed(1) : '') },
];

const DONE = new Set([BatchJobState.BATCH_SUCCEEDED, BatchJobState.BATCH_FAILED, BatchJobState.BATCH_CANCELLED]);

/** Parses `key=value` options. */
function parseOptions(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf('=');
    if (i <= 0) throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--option expects key=value, got "${pair}"`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

interface SubmitFlags {
  batch: string;
  name?: string;
  command?: string;
  completions: string;
  parallelism?: string;
  retries?: string;
  resources: string;
  band?: string;
  pool?: string;
  volume: string[];
  wait?: boolean;
  output: string;
}

/** `--volume HOST[:PATH][:rw]`: a bind of a host path (at the same path unless PATH names another), read-only unless `:rw`. */
export function parseVolumeFlag(value: string): Volume {
  const parts = value.split(':');
  const writable = parts.at(-1) === 'rw';
  if (writable || parts.at(-1) === 'ro') parts.pop();
  const [hostPath = '', path = hostPath, extra] = parts;
  if (hostPath === '' || extra !== undefined)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `--volume expects HOST[:PATH][:rw], got "${value.slice(0, 100)}"`,
    );
  return Volume.fromPartial({ kind: Volume_Kind.BIND, hostPath, path, readOnly: !writable });
}

/** Reads a spec file (YAML or JSON) and applies flags over it. */
async function specFrom(file: string | undefined, flags: SubmitFlags): Promise<BatchJobSpec> {
  const fromFile: unknown = file ? parseYaml(await readFile(file, 'utf8')) : {};
  if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${file ?? 'spec'}: expected a mapping of job fields`);
  }
  const base = BatchJobSpec.fromJSON(fromFile);
  const number = (value: string | undefined, flag: string): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag} must be a whole number, got "${value}"`);
    return n;
  };
  return {
    ...base,
    name: flags.name ?? base.name,
    command: flags.command ?? base.command,
    completions: number(flags.completions, '--completions') ?? base.completions,
    parallelism: number(flags.parallelism, '--parallelism') ?? base.parallelism,
    maxRetries: number(flags.retries, '--retries') ?? base.maxRetries,
    resources: flags.resources ? parseResources(flags.resources, '--resources') : base.resources,
    band: flags.band ?? base.band,
    pool: flags.pool ?? base.pool,
    volumes: flags.volume.length > 0 ? flags.volume.map(parseVolumeFlag) : base.volumes,
  };
}

/** Follows a job with a progress bar until it ends; returns the final job. */
async function follow(batch: Batch, name: string): Promise<BatchJob> {
  let job = await batch.show(name);
  const total = job.spec?.completions ?? 0;
  const bar = process.stderr.isTTY
    ? new SingleBar(
        {
          format: '{bar} {value}/{total} done | {running} running | {failed} failed | {retried} retried',
          hideCursor: true,
        },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { running: 0, failed: 0, retried: 0 });
  while (!DONE.has(job.state)) {
    await new Promise((r) => setTimeout(r, 200));
    job = await batch.show(name);
    bar?.update(job.succeeded + job.failed, { running: job.running, failed: job.failed, retried: job.retried });
  }
  bar?.stop();
  return job;
}

/** Adds `framework run` and `batch …`. */
export function addBatchCommands(program: Command, defaultMaster: string): void {
  program
    .command('framework')
    .description('host framework plugins')
    .command('run')
    .description('run a framework plugin (built-in name, e.g. batch, or a module path) against a master')
    .argument('<name|path>')
    .option('-m, --master <host:port>', 'the master', defaultMaster)
    .option('--option <key=value...>', 'options for the plugin, e.g. listen=127.0.0.1:5052', [])
    .option('--coordinator <url>', "authenticate the framework's API against the users of this coordinator")
    .option(
      '--insecure-no-auth',
      "serve the framework's API without authentication (a warning is printed on every start)",
    )
    .action(
      async (
        spec: string,
        flags: { master: string; option: string[]; coordinator?: string; insecureNoAuth?: boolean },
      ) => {
        if (flags.coordinator === undefined && flags.insecureNoAuth !== true)
          throw new GalaxyError(
            'GALAXY_E_INVALID_ARGUMENT',
            "galaxy framework run authenticates its API's callers against the users of a coordinator: pass --coordinator <url> (the master's, e.g. local:/var/lib/galaxy/coord), or --insecure-no-auth to serve it open",
          );
        const users = flags.coordinator === undefined ? undefined : await coordinatorAuth(flags.coordinator);
        const tls = cliTls();
        const handle = await runFramework(spec, {
          master: flags.master,
          options: parseOptions(flags.option),
          token: cliToken(),
          ...(users ? { auth: users.auth } : {}),
          ...(tls ? { tls } : {}),
        });
        if (!users)
          console.error(
            insecureWarning(`framework ${handle.framework.info.name}`, handle.framework.endpoint ?? 'its API'),
          );
        console.log(`framework ${handle.framework.info.name} subscribed as ${handle.driver.frameworkId}`);
        await untilSignal();
        await handle.stop();
        await users?.close();
      },
    );
  const batch = program.command('batch').description('run-to-completion jobs on the batch framework');
  const batchOpt = [
    '-b, --batch <host:port>',
    'the batch framework API',
    process.env.GALAXY_BATCH ?? '127.0.0.1:5052',
  ] as const;
  const outputOpt = ['-o, --output <format>', 'table or json', 'table'] as const;
  const withBatch = async <T>(address: string, fn: (b: Batch) => Promise<T>): Promise<T> => {
    const client = new Batch(address);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  };
  batch
    .command('submit')
    .description('submit a job from a YAML/JSON file and/or flags; --wait follows it with a progress bar')
    .argument('[file]')
    .option(...batchOpt)
    .option(...outputOpt)
    .option('--name <name>')
    .option('--command <shell>')
    .option('--completions <n>', 'tasks that must succeed', undefined)
    .option('--parallelism <n>', 'most running at once')
    .option('--retries <n>', 'retries per completion')
    .option('--resources <spec>', 'per task, e.g. "cpus:0.1;mem:16MiB"', '')
    .option('--band <band>', 'batch (default) or best-effort: best-effort tasks are the first preempted')
    .option('--pool <pool>', 'the pool its tasks run in (default "default")')
    .option(
      '--volume <host[:path][:rw]...>',
      "bind a host path into each task (under the agents' --allowed-host-paths), read-only unless :rw",
      [],
    )
    .option('-w, --wait', 'wait for the job to end, with a progress bar and a summary')
    .action(async (file: string | undefined, flags: SubmitFlags) => {
      const format = parseOutputFormat(flags.output);
      const spec = await specFrom(file, flags);
      const job = await withBatch(flags.batch, async (b) => {
        const submitted = await b.submit(spec);
        return flags.wait ? follow(b, submitted.spec?.name ?? spec.name) : submitted;
      });
      console.log(render([job], JOB_COLUMNS, format));
      if (flags.wait && job.state !== BatchJobState.BATCH_SUCCEEDED) process.exitCode = 1;
    });
  for (const verb of ['list', 'show', 'cancel'] as const) {
    const cmd = batch
      .command(verb)
      .option(...batchOpt)
      .option(...outputOpt);
    if (verb !== 'list') cmd.argument('<name>');
    cmd.description(
      verb === 'list' ? 'list jobs' : verb === 'show' ? 'show one job' : 'cancel a job (kills its running tasks)',
    );
    cmd.action(async (...args: unknown[]) => {
      const name = verb === 'list' ? '' : String(args[0]);
      const flags = args[verb === 'list' ? 0 : 1] as { batch: string; output: string };
      const format = parseOutputFormat(flags.output);
      const jobs = await withBatch(flags.batch, async (b) =>
        verb === 'list' ? b.list() : [verb === 'show' ? await b.show(name) : await b.cancel(name)],
      );
      console.log(render(jobs, JOB_COLUMNS, format));
    });
  }
}
