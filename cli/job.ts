/**
 * `galaxy job …`: the AppMaster's verbs (submit, update, scale, pause, continue, rollback, cancel,
 * stop, remove, recover, exec, list, show) and `validate`, which needs no AppMaster.
 */
import { readFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { APPMASTER_GROUP } from '../core/leader-locator.js';
import { parseJobSpec } from '../frameworks/appmaster/spec/parse.js';
import { JobStatus, UpdateControl } from '../proto/gen/galaxy/v1/appmaster.js';
import { appMasterClient, type AppMasterApi } from './operator-client.js';
import { HISTORY_COLUMNS, JOB_COLUMNS, renderJob, renderPlan, updateLine } from './job-view.js';
import { fieldDiff } from '../frameworks/appmaster/spec/diff.js';
import { validateSpecFiles } from './job-validate.js';
import { frameworkTarget, LeaderClient } from './leader-client.js';
import { OUTPUT_HELP, parseOutputFormat, render } from './output.js';
import { parseCount, parseSecondsFlag } from './numbers.js';
import { execCommandLine } from './shell-words.js';
import { watchJob } from './job-watch.js';
import { watchFrame } from './watch.js';

/** Where `galaxy job` finds the AppMaster when neither a flag nor the environment says. */
export const DEFAULT_APPMASTER = '127.0.0.1:5060';

interface Flags {
  appmaster?: string;
  coordinator?: string;
  output: string;
  wait?: boolean;
}

/** The leading AppMaster, found as the flags and the environment say (read when the command runs). */
type Api = LeaderClient<AppMasterApi>;

/** Runs `fn` against the leading AppMaster that `--appmaster`/`--coordinator` (or the environment) name. */
export async function withApi<T>(
  flags: Pick<Flags, 'appmaster' | 'coordinator'>,
  fn: (api: Api) => Promise<T>,
): Promise<T> {
  const target = frameworkTarget(
    { coordinator: flags.coordinator, address: flags.appmaster },
    'GALAXY_APPMASTER',
    DEFAULT_APPMASTER,
  );
  const api = new LeaderClient(target, APPMASTER_GROUP, (address) => appMasterClient(address));
  try {
    return await fn(api);
  } finally {
    api.close();
  }
}

/** A read: followed across a failover. */
const show = (api: Api, name: string): Promise<JobStatus> => api.call((a) => a.showJob({ name }), { repeatable: true });

/** Reads and validates a spec file here, so errors name the file's lines; returns its JSON. */
async function specJson(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `cannot read ${file}: ${(error as Error).message}`);
  }
  return JSON.stringify(parseJobSpec(text, file));
}

/** True when nothing more will change by itself: all pods healthy and no update running, or a pause. */
function settled(job: JobStatus): boolean {
  if (job.update) return job.update.paused;
  const healthy = job.pods.filter((p) => p.health === 'healthy' && p.phase === 'running').length;
  return healthy === job.replicas && job.pods.length === job.replicas;
}

/** Follows a job until it settles, with a progress bar on a terminal; returns the last status. */
async function follow(api: Api, name: string, timeoutS: number): Promise<JobStatus> {
  let job = await show(api, name);
  const bar = process.stderr.isTTY
    ? new SingleBar({ format: '{bar} {value}/{total} {what} | {detail}', hideCursor: true }, Presets.shades_classic)
    : undefined;
  const progress = (j: JobStatus): [number, number, string, string] =>
    j.update
      ? [j.update.updated, j.update.total, 'updated', updateLine(j)]
      : [j.pods.filter((p) => p.health === 'healthy').length, j.replicas, 'healthy', j.state];
  const [value, total, what, detail] = progress(job);
  bar?.start(total, value, { what, detail });
  const deadline = Date.now() + timeoutS * 1000;
  while (!settled(job) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    job = await show(api, name);
    const [v, t, w, d] = progress(job);
    bar?.setTotal(t);
    bar?.update(v, { what: w, detail: d });
  }
  bar?.stop();
  return job;
}

/** Adds the flags every AppMaster command takes: where the AppMaster is, and `-o`. */
export function withAppMasterFlags(cmd: Command): Command {
  return cmd
    .option(
      '-a, --appmaster <host:port|url>',
      `the AppMaster API (default $GALAXY_APPMASTER, else ${DEFAULT_APPMASTER})`,
    )
    .option('--coordinator <url>', 'find the leading AppMaster through this coordinator (zk://… or local:/dir)')
    .option('-o, --output <format>', OUTPUT_HELP, 'table');
}

/** Adds `galaxy job …`. */
export function addJobCommands(program: Command): void {
  const job = program.command('job').description('service jobs on the AppMaster');
  const withCommon = withAppMasterFlags;
  const print = (status: JobStatus, flags: Flags): void => {
    console.log(renderJob(status, parseOutputFormat(flags.output)));
  };

  job
    .command('validate')
    .description('check job spec files offline; errors name the path and line')
    .argument('<files...>')
    .action(async (files: string[]) => {
      const result = await validateSpecFiles(files);
      for (const line of result.lines) (result.ok ? console.log : console.error)(line);
      if (!result.ok) process.exitCode = 2;
    });

  for (const verb of ['submit', 'update'] as const) {
    const command = withCommon(job.command(verb))
      .description(
        verb === 'submit'
          ? 'submit a new job from a YAML/JSON spec'
          : 'roll out a new spec: version/commands in place, data by reload, resources by new containers',
      )
      .argument('<file>')
      .option('-w, --wait', 'follow until every pod is healthy (or the update pauses), with a progress bar')
      .option('--timeout <s>', 'longest --wait, in seconds', '600');
    if (verb === 'update')
      command.option('--canary <n>', 'move n pods to the new revision, then hold until "job promote" or "job abort"');
    command.action(async (file: string, flags: Flags & { timeout: string; canary?: string }) => {
      const timeoutS = parseSecondsFlag(flags.timeout, '--timeout', 86_400);
      const canary = flags.canary === undefined ? 0 : parseCount(flags.canary, '--canary', 10_000, 1);
      const json = await specJson(file);
      const status = await withApi(flags, async (api) => {
        const first = await api.call((a) =>
          verb === 'submit' ? a.submitJob({ specJson: json }) : a.updateJob({ specJson: json, canary }),
        );
        return flags.wait ? follow(api, first.name, timeoutS) : first;
      });
      print(status, flags);
      if (flags.wait && !settled(status)) process.exitCode = 1;
    });
  }

  withCommon(job.command('scale'))
    .description('set the number of pods')
    .argument('<name>')
    .argument('<replicas>')
    .action(async (name: string, replicas: string, flags: Flags) => {
      const n = Number(replicas);
      if (!Number.isInteger(n) || n < 0)
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `replicas must be a whole number, got "${replicas}"`);
      print(await withApi(flags, (api) => api.call((a) => a.scaleJob({ name, replicas: n }))), flags);
    });

  const controls = {
    pause: [UpdateControl.UPDATE_PAUSE, 'pause the rolling update'],
    continue: [UpdateControl.UPDATE_CONTINUE, 'continue a paused update (past its breakpoint)'],
    rollback: [UpdateControl.UPDATE_ROLLBACK, 'roll back to the previous revision'],
    cancel: [UpdateControl.UPDATE_CANCEL, 'stop rolling; pods keep the revision they run'],
    promote: [UpdateControl.UPDATE_PROMOTE, 'a canary update holding: roll the rest'],
    abort: [UpdateControl.UPDATE_ABORT, 'a canary update: roll the canaries back'],
  } as const;
  for (const [verb, [control, description]] of Object.entries(controls)) {
    const command = withCommon(job.command(verb)).description(description).argument('<name>');
    if (verb === 'rollback')
      command.option('--to <revision>', 'with no update running: roll out this kept revision (see "job history")');
    command.action(async (name: string, flags: Flags & { to?: string }) => {
      const toRevision = flags.to === undefined ? undefined : parseCount(flags.to, '--to', 1_000_000, 1);
      print(await withApi(flags, (api) => api.call((a) => a.controlUpdate({ name, control, toRevision }))), flags);
    });
  }

  withCommon(job.command('diff'))
    .description("the field-level difference between the job's current spec and a spec file")
    .argument('<file>')
    .action(async (file: string, flags: Flags) => {
      const after = JSON.parse(await specJson(file)) as { name: string };
      const current = await withApi(flags, (api) => show(api, after.name));
      const changes = fieldDiff(JSON.parse(current.specJson), after);
      if (changes.length === 0) console.log(`job ${after.name}: no change`);
      for (const c of changes) console.log(`${c.path}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}`);
    });

  withCommon(job.command('plan'))
    .description('dry run: what a submit or update with this spec would change, where pods would fit, the quota')
    .argument('<file>')
    .action(async (file: string, flags: Flags) => {
      const json = await specJson(file);
      const plan = await withApi(flags, (api) => api.call((a) => a.planJob({ specJson: json }), { repeatable: true }));
      console.log(renderPlan(plan, parseOutputFormat(flags.output)));
    });

  withCommon(job.command('unblacklist'))
    .description("forget the job's failures on a host (every host without one): its pods may go there again")
    .argument('<name>')
    .argument('[host]')
    .action(async (name: string, host: string | undefined, flags: Flags) => {
      const hostname = host ?? '';
      print(await withApi(flags, (api) => api.call((a) => a.unblacklistJob({ name, hostname }))), flags);
    });

  withCommon(job.command('history'))
    .description("the job's kept revisions: when, by whom, what kind of change (newest first)")
    .argument('<name>')
    .action(async (name: string, flags: Flags) => {
      const history = await withApi(flags, (api) => api.call((a) => a.jobHistory({ name }), { repeatable: true }));
      console.log(render(history.revisions, HISTORY_COLUMNS, parseOutputFormat(flags.output)));
    });

  withCommon(job.command('stop'))
    .description('stop every pod; the job stays (scale or update it to run again)')
    .argument('<name>')
    .action(async (name: string, flags: Flags) => {
      print(await withApi(flags, (api) => api.call((a) => a.stopJob({ name }))), flags);
    });

  withCommon(job.command('remove'))
    .description('kill every pod and forget the job and its naming entries')
    .argument('<name>')
    .action(async (name: string, flags: Flags) => {
      const status = await withApi(flags, (api) => api.call((a) => a.removeJob({ name })));
      console.log(`job ${status.name} removed (${status.pods.length} pods stopping)`);
    });

  withCommon(job.command('recover'))
    .description("replace one pod's container")
    .argument('<name>')
    .argument('<pod>')
    .action(async (name: string, pod: string, flags: Flags) => {
      print(await withApi(flags, (api) => api.call((a) => a.recoverPod({ name, podId: pod }))), flags);
    });

  withCommon(job.command('exec'))
    .description("run a command in a pod's container (through its AppWorker)")
    .argument('<name>')
    .argument('<pod>')
    .argument(
      '<command...>',
      "one shell command line ('ls | wc -l'), or after -- a program and its arguments, kept as given",
    )
    .option('--timeout <s>', 'seconds before the command is killed', '30')
    .action(async (name: string, pod: string, command: string[], flags: Flags & { timeout: string }) => {
      const timeoutS = parseSecondsFlag(flags.timeout, '--timeout', 3600);
      const result = await withApi(flags, (api) =>
        api.call((a) => a.execPod({ name, podId: pod, command: execCommandLine(command), timeoutS })),
      );
      process.stdout.write(result.stdout);
      process.stderr.write(result.stderr);
      process.exitCode = result.exitCode === 0 ? 0 : 1;
    });

  withCommon(job.command('list'))
    .description('list jobs')
    .action(async (flags: Flags) => {
      const jobs = await withApi(flags, (api) =>
        api.call((a) => a.listJobs({}).then((r) => r.jobs), { repeatable: true }),
      );
      console.log(render(jobs, JOB_COLUMNS, parseOutputFormat(flags.output), JobStatus));
    });

  withCommon(job.command('show'))
    .description('one job: pods with host, state, version, health, restarts, and why pods are pending')
    .argument('<name>')
    .option('-w, --watch', 'print it again each time it changes (pushed by the AppMaster), until Ctrl-C or its removal')
    .action(async (name: string, flags: Flags & { watch?: boolean }) => {
      const format = parseOutputFormat(flags.output);
      if (!flags.watch) {
        print(await withApi(flags, (api) => show(api, name)), flags);
        return;
      }
      // The first read finds the leader (following NOT_LEADER); the watch then runs against it.
      const leader = await withApi(flags, async (api) => {
        await show(api, name);
        return api.current ?? '';
      });
      await watchJob(leader, name, (job) => {
        console.log(watchFrame(renderJob(job, format), format));
      });
    });
}
