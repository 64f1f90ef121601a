/**
 * Reading a task's output for a caller, whatever carries it (the Logs gRPC service, the HTTP
 * API's server-sent events): the master checks that the caller may read the task (the tasks
 * `galaxy tasks` shows them, completed ones included), bounds the streams open per principal and
 * per master, then pulls the output chunk by chunk from the task's agent over the agent's own
 * stream, one read outstanding at a time and none while the caller has not taken the last chunk
 * (docs/security.md, "Logs").
 */
import type { Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';
import type { LogChunk, ReadLogsRequest } from '../../proto/gen/galaxy/v1/logs.js';
import type { MasterContext } from '../context.js';
import type { LogProxy } from './log-proxy.js';
import { readableTask } from './readable-task.js';

/** Bytes the master asks an agent for at once. */
const CHUNK_BYTES = 64 * 1024;
/** How long a follower's read waits at the agent for new output before it is asked again. */
const FOLLOW_WAIT_MS = 10_000;
/** Log streams one principal may hold open at once. */
export const LOG_STREAMS_PER_PRINCIPAL = 32;
/** Log streams the master holds open at once. */
export const LOG_STREAMS_PER_MASTER = 1024;

/** Where the chunks go: `write` resolves once the caller took the chunk. */
export interface LogSink {
  write(chunk: LogChunk): Promise<void>;
  /** True once the caller went away: reading stops. */
  cancelled(): boolean;
}

/** Reads tasks' output for callers, within the master's bounds. */
export class LogReader {
  private readonly open = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly ctx: MasterContext,
    private readonly proxy: LogProxy,
    private readonly visibleTo: (caller: Principal) => (task: Task) => boolean,
  ) {}

  /**
   * Checks `caller` may read the task and a stream is free, synchronously (a refusal throws before
   * anything is sent), then returns the reading: it resolves when the output ends (or, following,
   * when the task ends or the caller goes away).
   */
  start(caller: Principal, request: ReadLogsRequest, sink: LogSink): Promise<void> {
    if (request.taskId === '') throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'name the task whose output to read');
    const tasks = [...[...this.ctx.tasks.values()].map((r) => r.task), ...[...this.ctx.completed.values()].reverse()];
    const task = readableTask(tasks, request.taskId, request.frameworkId, this.visibleTo(caller), caller.user);
    const who = `${caller.kind}:${caller.user}`;
    if ((this.open.get(who) ?? 0) >= LOG_STREAMS_PER_PRINCIPAL)
      throw new GalaxyError(
        'GALAXY_E_LIMIT_EXCEEDED',
        `${caller.user} already reads ${LOG_STREAMS_PER_PRINCIPAL} logs at once; end one first`,
      );
    if (this.total >= LOG_STREAMS_PER_MASTER)
      throw new GalaxyError(
        'GALAXY_E_LIMIT_EXCEEDED',
        `the master serves ${LOG_STREAMS_PER_MASTER} logs at once; try again later`,
      );
    this.open.set(who, (this.open.get(who) ?? 0) + 1);
    this.total += 1;
    return this.pump(task, request, sink).finally(() => {
      this.total -= 1;
      const left = (this.open.get(who) ?? 1) - 1;
      if (left > 0) this.open.set(who, left);
      else this.open.delete(who);
    });
  }

  /** Reads the task's output until its end (or the caller's), following it when asked. */
  private async pump(task: Task, request: ReadLogsRequest, sink: LogSink): Promise<void> {
    let cursor = '';
    let first = true;
    while (!sink.cancelled()) {
      const start = cursor === '';
      const data = await this.proxy.read(task.agentId, {
        frameworkId: task.frameworkId,
        taskId: task.taskId,
        stream: request.stream,
        cursor,
        maxBytes: CHUNK_BYTES,
        ...(start && request.tailLines !== undefined ? { tailLines: request.tailLines } : {}),
        sinceMs: start ? request.sinceMs : 0,
        waitMs: request.follow ? FOLLOW_WAIT_MS : 0,
      });
      if (sink.cancelled()) return;
      if (data.data.length > 0 || first)
        await sink.write({
          data: data.data,
          taskId: first ? task.taskId : '',
          frameworkId: first ? task.frameworkId : '',
          agentId: first ? task.agentId : '',
          gap: data.gap,
        });
      first = false;
      cursor = data.cursor;
      if (data.data.length > 0) continue;
      if (!request.follow || data.finished) return;
    }
  }
}
