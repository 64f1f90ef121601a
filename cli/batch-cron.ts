/**
 * `galaxy batch cron create|list|show|delete|suspend|resume`: batch jobs run on a schedule (cron
 * syntax in a time zone, a concurrency policy, a starting deadline and history limits; see
 * docs/batch.md). A cron job is a batch spec with a `schedule`, from a file or flags.
 */
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { BatchJobState, type CronJob } from '../proto/gen/galaxy/v1/batch.js';
import { scheduleToProto, specToProto } from '../frameworks/batch/spec/parse.js';
import { specFromFileAndFlags, type SpecFlags } from './batch-spec.js';
import type { Batch } from './batch-client.js';
import { withBatch, withSpecFlags, withWhere, type WhereFlags } from './batch-common.js';
import { parseOutputFormat, render, type Column } from './output.js';

/** Seconds since the epoch as an ISO time ('' for 0). */
const time = (seconds: number): string => (seconds > 0 ? new Date(seconds * 1000).toISOString() : '');

const CRON_COLUMNS: Column<CronJob>[] = [
  { heading: 'NAME', value: (c) => c.spec?.name ?? '' },
  { heading: 'OWNER', value: (c) => c.owner },
  { heading: 'SCHEDULE', value: (c) => c.schedule?.cron ?? '' },
  { heading: 'TZ', value: (c) => c.schedule?.timeZone ?? '' },
  { heading: 'POLICY', value: (c) => c.schedule?.concurrencyPolicy ?? '' },
  { heading: 'SUSPENDED', value: (c) => (c.suspended ? 'yes' : 'no') },
  { heading: 'ACTIVE', value: (c) => c.active.map((r) => r.job).join(',') },
  {
    heading: 'LAST',
    value: (c) =>
      c.history[0] ? `${c.history[0].job} ${BatchJobState[c.history[0].state].replace(/^BATCH_/, '')}` : '',
  },
  { heading: 'NEXT', value: (c) => time(c.nextRunAt) },
  { heading: 'MISSED', value: (c) => c.missed },
  { heading: 'MESSAGE', value: (c) => c.message },
];

/** Adds `batch cron …` under `batch`. */
export function addCronCommands(batch: Command): void {
  const cron = batch.command('cron').description('batch jobs run on a schedule (like Kubernetes CronJob)');
  withSpecFlags(withWhere(cron.command('create')))
    .description('create a cron job from a spec with a schedule (-f or the argument) and/or flags')
    .argument('[file]')
    .option('--schedule <cron>', 'cron expression: 5 fields, or 6 with seconds first, or @daily…')
    .option('--time-zone <zone>', 'IANA time zone of the expression (default UTC)')
    .option('--concurrency-policy <policy>', 'Allow (default), Forbid or Replace')
    .option('--starting-deadline <s>', 'a run not started within this of its time is missed (default: none)')
    .option('--successful-history <n>', 'succeeded runs kept (default 3)')
    .option('--failed-history <n>', 'failed runs kept (default 1)')
    .option('--suspend', 'create it suspended')
    .action(async (file: string | undefined, flags: WhereFlags & SpecFlags) => {
      const spec = await specFromFileAndFlags({ ...flags, file: flags.file ?? file });
      if (!spec.schedule)
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          'a cron job needs a schedule: a "schedule:" section in the spec, or --schedule "<cron>"',
        );
      const schedule = scheduleToProto(spec.schedule);
      const created = await withBatch(flags, (b) => b.call((c) => c.createCron(specToProto(spec), schedule)));
      console.log(render([created], CRON_COLUMNS, parseOutputFormat(flags.output)));
    });
  withWhere(cron.command('list'))
    .description('list cron jobs')
    .action(async (flags: WhereFlags) => {
      const crons = await withBatch(flags, (b) => b.call((c) => c.listCrons(), { repeatable: true }));
      console.log(render(crons, CRON_COLUMNS, parseOutputFormat(flags.output)));
    });
  const verbs = {
    show: ['one cron job, with its active and finished runs', (name: string) => (c: Batch) => c.showCron(name)],
    delete: [
      'delete a cron job: its active runs are cancelled, its finished runs forgotten',
      (name: string) => (c: Batch) => c.deleteCron(name),
    ],
    suspend: ['start no more runs until resumed', (name: string) => (c: Batch) => c.suspendCron(name, true)],
    resume: [
      'start runs again (the latest missed one, within its starting deadline, at once)',
      (name: string) => (c: Batch) => c.suspendCron(name, false),
    ],
  } as const;
  for (const [verb, [description, call]] of Object.entries(verbs)) {
    withWhere(cron.command(verb))
      .description(description)
      .argument('<name>')
      .action(async (name: string, flags: WhereFlags) => {
        const answer = await withBatch(flags, (b) => b.call(call(name), { repeatable: verb === 'show' }));
        const format = parseOutputFormat(flags.output);
        console.log(
          verb === 'show' && format === 'table' ? describeCron(answer) : render([answer], CRON_COLUMNS, format),
        );
      });
  }
}

/** `galaxy batch cron show` as a table: the cron job, then its runs. */
function describeCron(cron: CronJob): string {
  const runs = [
    ...cron.active.map((r) => ({ ...r, kind: 'active' })),
    ...cron.history.map((r) => ({ ...r, kind: 'finished' })),
  ];
  const runColumns: Column<(typeof runs)[number]>[] = [
    { heading: 'RUN', value: (r) => r.job },
    { heading: 'SCHEDULED', value: (r) => time(r.scheduledAt) },
    { heading: 'STATE', value: (r) => BatchJobState[r.state].replace(/^BATCH_/, '') },
    { heading: 'MESSAGE', value: (r) => r.message },
  ];
  return `${render([cron], CRON_COLUMNS, 'table')}\n\n${runs.length > 0 ? render(runs, runColumns, 'table') : 'no runs yet'}`;
}
