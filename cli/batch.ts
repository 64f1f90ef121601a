/**
 * `galaxy batch submit|list|show|cancel|validate` and `galaxy batch cron …`: the batch framework's
 * verbs. The framework is found through `--batch <host:port>` or the coordinator (`--coordinator`,
 * or a URL as `--batch`), following a standby's NOT_LEADER answer to the leader.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { BatchJob, BatchJobState } from '../proto/gen/galaxy/v1/batch.js';
import { parseBatchSpec, specToProto } from '../frameworks/batch/spec/parse.js';
import { addCronCommands } from './batch-cron.js';
import { withBatch, withSpecFlags, withWhere, type BatchLeader, type WhereFlags } from './batch-common.js';
import { specFromFileAndFlags, type SpecFlags } from './batch-spec.js';
import { validateSpecFiles } from './job-validate.js';
import { parseOutputFormat, render, type Column } from './output.js';

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

/** Follows a job with a progress bar until it ends; returns the final job. */
async function follow(batch: BatchLeader, name: string): Promise<BatchJob> {
  const show = () => batch.call((b) => b.show(name), { repeatable: true });
  let job = await show();
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
    job = await show();
    bar?.update(job.succeeded + job.failed, { running: job.running, failed: job.failed, retried: job.retried });
  }
  bar?.stop();
  return job;
}

/** Adds `batch …`. */
export function addBatchCommands(program: Command): void {
  const batch = program.command('batch').description('run-to-completion jobs and cron jobs on the batch framework');
  withSpecFlags(withWhere(batch.command('submit')))
    .description('submit a job from a YAML/JSON spec (-f or the argument) and/or flags; --wait follows it')
    .argument('[file]')
    .option('-w, --wait', 'wait for the job to end, with a progress bar and a summary')
    .action(async (file: string | undefined, flags: WhereFlags & SpecFlags & { wait?: boolean }) => {
      const format = parseOutputFormat(flags.output);
      const spec = await specFromFileAndFlags({ ...flags, file: flags.file ?? file });
      if (spec.schedule)
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `${flags.file ?? file ?? 'the spec'} has a schedule: create it with "galaxy batch cron create"`,
        );
      const job = await withBatch(flags, async (b) => {
        const submitted = await b.call((c) => c.submit(specToProto(spec)));
        return flags.wait ? follow(b, submitted.spec?.name ?? spec.name) : submitted;
      });
      console.log(render([job], JOB_COLUMNS, format, BatchJob));
      if (flags.wait && job.state !== BatchJobState.BATCH_SUCCEEDED) process.exitCode = 1;
    });
  batch
    .command('validate')
    .description('check batch specs (and cron job specs) offline; errors name the path and line')
    .argument('<files...>')
    .action(async (files: string[]) => {
      const result = await validateSpecFiles(files, (text, path) => {
        const spec = parseBatchSpec(text, path);
        const what = spec.schedule
          ? `cron job ${spec.name}, "${spec.schedule.cron}" in ${spec.schedule.timeZone}`
          : `job ${spec.name}`;
        return `ok ${path}: ${what}, ${spec.completions} completions`;
      });
      for (const line of result.lines) (result.ok ? console.log : console.error)(line);
      if (!result.ok) process.exitCode = 2;
    });
  for (const verb of ['list', 'show', 'cancel'] as const) {
    const cmd = withWhere(batch.command(verb));
    if (verb !== 'list') cmd.argument('<name>');
    cmd.description(
      verb === 'list' ? 'list jobs' : verb === 'show' ? 'show one job' : 'cancel a job (kills its running tasks)',
    );
    cmd.action(async (...args: unknown[]) => {
      const name = verb === 'list' ? '' : String(args[0]);
      const flags = args[verb === 'list' ? 0 : 1] as WhereFlags;
      const format = parseOutputFormat(flags.output);
      const jobs = await withBatch(flags, async (b) =>
        verb === 'list'
          ? b.call((c) => c.list(), { repeatable: true })
          : [await b.call((c) => (verb === 'show' ? c.show(name) : c.cancel(name)), { repeatable: true })],
      );
      console.log(render(jobs, JOB_COLUMNS, format, BatchJob));
    });
  }
  addCronCommands(batch);
}
