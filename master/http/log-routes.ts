/**
 * A pod's output over HTTP, for the console's log viewer and `curl -N`:
 * `GET /api/v1/jobs/:name/pods/:pod/logs` as server-sent events. The pod's task comes from the
 * AppMaster as the caller sees the job (its job-owner rule), then the output is read through the
 * master's {@link LogReader} as the caller (the rule of `galaxy tasks`, the same bounds as the
 * Logs service): the same two checks as `galaxy logs <job> <pod>`. Each `galaxy-log` event
 * carries `{ text, gap }`, paced by the client (a chunk is read from the agent only once the last
 * one left); the stream ends with `galaxy-log-end`, or `galaxy-error` with the refusal.
 */
import { z } from 'zod';
import type { Principal } from '../../core/auth/principal.js';
import type { JobsBackend } from '../../core/http/job-routes.js';
import { API_PREFIX, type HttpApp } from '../../core/http/server.js';
import type { StreamBudget } from '../../core/http/sse.js';
import { taskOfPod } from '../../core/pod-task.js';
import { LogStream, ReadLogsRequest } from '../../proto/gen/galaxy/v1/logs.js';
import type { LogSink } from '../logs/log-reader.js';

/** Reads a task's output as a caller (`LogReader.start`). */
export type TaskLogs = (caller: Principal, request: ReadLogsRequest, sink: LogSink) => Promise<void>;

const params = z.object({
  name: z.string().min(1).max(63),
  pod: z.string().min(1).max(80),
});
const query = z
  .object({
    stream: z.enum(['stdout', 'stderr']).default('stdout'),
    tail: z.coerce.number().int().min(0).max(100_000).default(200),
    follow: z.enum(['true', 'false']).default('true'),
  })
  .strict();

/** Adds the pod log route. */
export function registerLogRoutes(app: HttpApp, jobs: JobsBackend, logs: TaskLogs, streams: StreamBudget): void {
  app.get(
    `${API_PREFIX}/jobs/:name/pods/:pod/logs`,
    {
      schema: {
        tags: ['jobs'],
        summary:
          "A pod's stdout or stderr, the last `tail` lines then followed (text/event-stream: `galaxy-log` events)",
        params,
        querystring: query,
      },
    },
    async (request, reply) => {
      const status = await jobs(request).showJob({ name: request.params.name });
      const taskId = taskOfPod(status, request.params.pod);
      const read = ReadLogsRequest.fromPartial({
        taskId,
        stream: request.query.stream === 'stderr' ? LogStream.LOG_STREAM_STDERR : LogStream.LOG_STREAM_STDOUT,
        follow: request.query.follow === 'true',
        tailLines: request.query.tail,
      });
      let closed = false;
      // A character split between two chunks is decoded whole.
      const decoder = new TextDecoder('utf-8');
      const pending: { stream?: ReturnType<StreamBudget['start']> } = {};
      // Refusals (the task, the bounds) throw here, before the stream opens: an HTTP error.
      const reading = logs(request.caller, read, {
        write: async (chunk) => {
          const stream = pending.stream;
          if (!stream) return;
          stream.send('galaxy-log', { text: decoder.decode(chunk.data, { stream: true }), gap: chunk.gap });
          await stream.drained();
        },
        cancelled: () => closed,
      });
      let stream: ReturnType<StreamBudget['start']>;
      try {
        stream = streams.start(request, reply, () => {
          closed = true;
        });
      } catch (error) {
        closed = true; // no stream to write to: the reading stops at its next step
        throw error;
      }
      pending.stream = stream;
      reading.then(
        () => {
          stream.send('galaxy-log-end', {});
          stream.close();
        },
        (error: unknown) => {
          stream.send('galaxy-error', { message: error instanceof Error ? error.message : String(error) });
          stream.close();
        },
      );
    },
  );
}
