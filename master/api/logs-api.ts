/**
 * gRPC adapter of the Logs service (`galaxy logs`, `galaxy task logs`): the master checks that the
 * caller may read the task (the tasks `galaxy tasks` shows them, completed ones included), then
 * pulls its output chunk by chunk from the task's agent over the agent's own stream and writes it
 * to the caller, one read outstanding at a time and none while the caller has not taken the last
 * chunk (docs/security.md, "Logs").
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { principalOf, type Principal } from '../../core/auth/principal.js';
import { GalaxyError } from '../../core/errors.js';
import { toGrpcStatus } from '../../core/grpc-errors.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';
import type { LogChunk, LogsServer, ReadLogsRequest } from '../../proto/gen/galaxy/v1/logs.js';
import type { MasterContext } from '../context.js';
import type { LogProxy } from '../logs/log-proxy.js';
import { readableTask } from '../logs/readable-task.js';

/** Bytes the master asks an agent for at once. */
const CHUNK_BYTES = 64 * 1024;
/** How long a follower's read waits at the agent for new output before it is asked again. */
const FOLLOW_WAIT_MS = 10_000;
/** Log streams one principal may hold open at once. */
export const LOG_STREAMS_PER_PRINCIPAL = 32;
/** Log streams the master holds open at once. */
export const LOG_STREAMS_PER_MASTER = 1024;

/** Builds the Logs implementation. */
export function logsApi(
  ctx: MasterContext,
  proxy: LogProxy,
  visibleTo: (caller: Principal) => (task: Task) => boolean,
): LogsServer {
  const open = new Map<string, number>();
  let total = 0;
  return {
    read(call: ServerWritableStream<ReadLogsRequest, LogChunk>): void {
      let cancelled = false;
      call.on('cancelled', () => {
        cancelled = true;
      });
      const fail = (error: unknown): void => {
        if (cancelled) return;
        const status = toGrpcStatus(error);
        call.emit('error', Object.assign(new Error(status.details), status));
      };
      const caller = principalOf(call);
      const who = caller ? `${caller.kind}:${caller.user}` : '';
      try {
        if (!caller) throw new GalaxyError('GALAXY_E_UNAUTHENTICATED', 'the call carries no bearer token');
        const request = call.request;
        if (request.taskId === '')
          throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', 'name the task whose output to read');
        const tasks = [...[...ctx.tasks.values()].map((r) => r.task), ...[...ctx.completed.values()].reverse()];
        const task = readableTask(tasks, request.taskId, request.frameworkId, visibleTo(caller), caller.user);
        if ((open.get(who) ?? 0) >= LOG_STREAMS_PER_PRINCIPAL)
          throw new GalaxyError(
            'GALAXY_E_LIMIT_EXCEEDED',
            `${caller.user} already reads ${LOG_STREAMS_PER_PRINCIPAL} logs at once; end one first`,
          );
        if (total >= LOG_STREAMS_PER_MASTER)
          throw new GalaxyError(
            'GALAXY_E_LIMIT_EXCEEDED',
            `the master serves ${LOG_STREAMS_PER_MASTER} logs at once; try again later`,
          );
        open.set(who, (open.get(who) ?? 0) + 1);
        total += 1;
        pump(call, proxy, task, request, () => cancelled)
          .then(() => {
            if (!cancelled) call.end();
          }, fail)
          .finally(() => {
            total -= 1;
            const left = (open.get(who) ?? 1) - 1;
            if (left > 0) open.set(who, left);
            else open.delete(who);
          });
      } catch (error) {
        fail(error);
      }
    },
  };
}

/** Writes `chunk` and resolves once the caller's side has taken it (no buffering for slow readers). */
function write(call: ServerWritableStream<ReadLogsRequest, LogChunk>, chunk: LogChunk): Promise<void> {
  return new Promise((resolve) => {
    call.write(chunk, () => {
      resolve();
    });
  });
}

/** Reads the task's output until its end (or the caller's), following it when asked. */
async function pump(
  call: ServerWritableStream<ReadLogsRequest, LogChunk>,
  proxy: LogProxy,
  task: Task,
  request: ReadLogsRequest,
  cancelled: () => boolean,
): Promise<void> {
  let cursor = '';
  let first = true;
  while (!cancelled()) {
    const start = cursor === '';
    const data = await proxy.read(task.agentId, {
      frameworkId: task.frameworkId,
      taskId: task.taskId,
      stream: request.stream,
      cursor,
      maxBytes: CHUNK_BYTES,
      ...(start && request.tailLines !== undefined ? { tailLines: request.tailLines } : {}),
      sinceMs: start ? request.sinceMs : 0,
      waitMs: request.follow ? FOLLOW_WAIT_MS : 0,
    });
    if (cancelled()) return;
    if (data.data.length > 0 || first)
      await write(call, {
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
