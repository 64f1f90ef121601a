/**
 * `galaxy logs <job> <pod>` (an AppMaster pod's output) and `galaxy task logs <task-id>` (any
 * framework's task): the master's Logs stream, written to stdout as it arrives (docs/cli.md).
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { clientOptions } from '../core/auth/client.js';
import { taskOfPod } from '../core/pod-task.js';
import { fromGrpcError } from '../core/grpc-errors.js';
import { LeaderLocator, MASTER_GROUP } from '../core/leader-locator.js';
import { channelCredentials } from '../core/tls.js';
import { LogStream, LogsClient, type LogChunk, type ReadLogsRequest } from '../proto/gen/galaxy/v1/logs.js';
import { withApi } from './job.js';
import { masterOption } from './list-command.js';
import { parseDuration } from './machines.js';
import { parseCount } from './numbers.js';
import { cliToken } from './token.js';
import { cliTls } from './tls.js';

interface LogFlags {
  master: string;
  follow?: boolean;
  stderr?: boolean;
  tail?: string;
  since?: string;
  framework?: string;
}

/** The request the flags ask for; bad numbers and durations are refused before any call. */
export function logsRequest(taskId: string, frameworkId: string, flags: LogFlags, now = Date.now()): ReadLogsRequest {
  return {
    taskId,
    frameworkId,
    stream: flags.stderr ? LogStream.LOG_STREAM_STDERR : LogStream.LOG_STREAM_STDOUT,
    follow: flags.follow === true,
    ...(flags.tail !== undefined ? { tailLines: parseCount(flags.tail, '--tail', 1_000_000) } : {}),
    sinceMs:
      flags.since === undefined ? 0 : Math.max(1, Math.floor(now - parseDuration(flags.since, '--since') * 1000)),
  };
}

/** Streams the task's output to stdout until it ends (or, following, until the task ends or Ctrl-C). */
async function streamLogs(master: string, request: ReadLogsRequest): Promise<void> {
  const address = await new LeaderLocator(master, MASTER_GROUP).locate();
  const client = new LogsClient(address, channelCredentials(cliTls()), clientOptions(cliToken()));
  const call: ClientReadableStream<LogChunk> = client.read(request);
  const stop = (): void => {
    call.cancel();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // A reader that went away (`| head`) ends the stream quietly.
  process.stdout.on('error', stop);
  try {
    await new Promise<void>((resolve, reject) => {
      call.on('data', (chunk: LogChunk) => {
        if (chunk.gap) process.stderr.write('galaxy: output was rotated away here; some is missing\n');
        if (chunk.data.length > 0 && !process.stdout.write(chunk.data)) {
          // Backpressure: the master sends nothing more until the terminal has taken this.
          call.pause();
          process.stdout.once('drain', () => call.resume());
        }
      });
      call.on('end', resolve);
      call.on('error', (error: Error & { code?: number }) => {
        if (error.code === 1)
          resolve(); // CANCELLED: our own Ctrl-C
        else reject(fromGrpcError(error, `the master at ${address}`));
      });
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    client.close();
  }
}

/** The task of the job's pod `<pod>` (its id or index), asked of the AppMaster. */
async function podTask(flags: { appmaster?: string; coordinator?: string }, job: string, pod: string): Promise<string> {
  const status = await withApi(flags, (api) => api.call((a) => a.showJob({ name: job }), { repeatable: true }));
  return taskOfPod(status, pod);
}

function withLogFlags(command: Command, defaultMaster: string): Command {
  return command
    .option(...masterOption(defaultMaster))
    .option('-f, --follow', 'keep printing what it writes, across rotations, until the task ends (Ctrl-C stops)')
    .option('--stderr', 'its stderr instead of its stdout')
    .option('--tail <n>', 'only the last n lines')
    .option(
      '--since <duration>',
      'only output written in the last 90s, 10m, 1h… (whole rotated files: see docs/cli.md)',
    );
}

/** Adds `galaxy logs` and `galaxy task logs`. */
export function addLogsCommands(program: Command, defaultMaster: string): void {
  withLogFlags(
    program
      .command('logs')
      .description("a service pod's output (stdout, or --stderr), from its sandbox on its agent")
      .argument('<job>', 'the job')
      .argument('<pod>', 'the pod: its id (web-3) or its index (3)'),
    defaultMaster,
  )
    .option('-a, --appmaster <host:port|url>', 'the AppMaster API (default $GALAXY_APPMASTER, else 127.0.0.1:5060)')
    .option('--coordinator <url>', 'find the leading AppMaster through this coordinator (zk://… or local:/dir)')
    .action(async (job: string, pod: string, flags: LogFlags & { appmaster?: string; coordinator?: string }) => {
      const request = logsRequest('', '', flags);
      const taskId = await podTask(flags, job, pod);
      await streamLogs(flags.master, { ...request, taskId });
    });
  const task =
    program.commands.find((c) => c.name() === 'task') ??
    program.command('task').description('one task of any framework');
  withLogFlags(
    task
      .command('logs')
      .description(
        "a task's output (stdout, or --stderr), from its sandbox on its agent; finished tasks too while their sandbox is kept",
      )
      .argument('<task-id>', 'the task (galaxy tasks lists them)'),
    defaultMaster,
  )
    .option('--framework <id>', 'the framework, when the task id is in several', '')
    .action(async (taskId: string, flags: LogFlags) => {
      await streamLogs(flags.master, logsRequest(taskId, flags.framework ?? '', flags));
    });
}
