/**
 * The agent's side of `galaxy logs`: answers the master's LogRead requests, which come only over
 * the agent's own authenticated stream to the master, for callers the master authorized for that
 * task (docs/security.md, "Logs"). The agent dials nobody and listens on nothing for this.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import { LOG_STREAMS } from '../../core/task-logs.js';
import { checkId } from '../../core/validate.js';
import { LogStream, type LogData, type LogRead } from '../../proto/gen/galaxy/v1/logs.js';
import { readLogChunk } from './reader.js';

/** The largest chunk one answer carries (the master asks for less). */
export const MAX_LOG_CHUNK_BYTES = 256 * 1024;
/** The longest a read is held waiting for output. */
const MAX_WAIT_MS = 30_000;
/** How often a held read looks for new output. */
const POLL_MS = 200;
/** Reads held at once: more are refused (the master bounds its followers too). */
const MAX_PENDING_READS = 512;

/** A task's sandbox as the agent knows it, and whether the task still runs. */
export interface KnownSandbox {
  readonly sandbox: string;
  readonly running: () => boolean;
}

/** The run id of a sandbox's name `<task>-<run>`: base-36 time, then 6 hex digits (`sandbox.ts`). */
const RUN_ID = /^[0-9a-z]{6,12}[0-9a-f]{6}$/;

/**
 * The newest sandbox of a finished task still on disk (kept until the sandbox GC takes it):
 * `<workDir>/sandboxes/<framework>/<task>-<run>`.
 */
export async function finishedSandbox(
  workDir: string,
  frameworkId: string,
  taskId: string,
): Promise<string | undefined> {
  const dir = join(workDir, 'sandboxes', frameworkId);
  const runs = (await readdir(dir).catch(() => [] as string[]))
    .filter((name) => name.startsWith(`${taskId}-`) && RUN_ID.test(name.slice(taskId.length + 1)))
    .sort((a, b) => a.length - b.length || a.localeCompare(b));
  const newest = runs.at(-1);
  return newest === undefined ? undefined : join(dir, newest);
}

/** Answers LogRead requests for the sandboxes of this agent. */
export class AgentLogService {
  private pending = 0;

  constructor(
    private readonly workDir: string,
    /** The sandbox of a task the agent still tracks (running, or its end not yet acknowledged). */
    private readonly live: (frameworkId: string, taskId: string) => KnownSandbox | undefined,
  ) {}

  /** One answer; errors become a coded answer, never a thrown one. */
  async answer(request: LogRead): Promise<LogData> {
    const base: LogData = {
      requestId: request.requestId,
      data: Buffer.alloc(0),
      cursor: request.cursor,
      finished: false,
      gap: false,
      errorCode: '',
      errorMessage: '',
    };
    if (this.pending >= MAX_PENDING_READS)
      return { ...base, errorCode: 'GALAXY_E_LIMIT_EXCEEDED', errorMessage: 'the agent holds too many log reads' };
    this.pending += 1;
    try {
      return { ...base, ...(await this.read(request)) };
    } catch (error) {
      const galaxy = isGalaxyError(error) ? error : new GalaxyError('GALAXY_E_INTERNAL', String(error));
      return { ...base, errorCode: galaxy.code, errorMessage: galaxy.detail };
    } finally {
      this.pending -= 1;
    }
  }

  private async read(request: LogRead): Promise<Partial<LogData>> {
    // Ids become path components: separators and `..` are refused before the disk is touched.
    checkId(request.frameworkId, 'framework id');
    checkId(request.taskId, 'task id');
    const known = this.live(request.frameworkId, request.taskId);
    const sandbox = known?.sandbox ?? (await finishedSandbox(this.workDir, request.frameworkId, request.taskId));
    if (sandbox === undefined || sandbox === '')
      throw new GalaxyError(
        'GALAXY_E_LOGS_UNAVAILABLE',
        `no sandbox of task ${request.taskId} is left on this agent (it was collected, or the task never started here)`,
      );
    const running = known?.running ?? (() => false);
    const stream = LOG_STREAMS[request.stream === LogStream.LOG_STREAM_STDERR ? 1 : 0];
    const maxBytes = Math.max(1, Math.min(request.maxBytes || MAX_LOG_CHUNK_BYTES, MAX_LOG_CHUNK_BYTES));
    const deadline = Date.now() + Math.min(request.waitMs, MAX_WAIT_MS);
    const readOnce = () =>
      readLogChunk(sandbox, {
        stream,
        cursor: request.cursor,
        maxBytes,
        ...(request.tailLines !== undefined ? { tailLines: request.tailLines } : {}),
        sinceMs: request.sinceMs,
      });
    for (;;) {
      const wasRunning = running();
      const chunk = await readOnce();
      if (chunk.data.length > 0 || (request.cursor === '' && chunk.cursor !== ''))
        return { data: chunk.data, cursor: chunk.cursor, gap: chunk.gap };
      // Nothing new: a task that had ended before this read has nothing more to say.
      if (!wasRunning) return { cursor: chunk.cursor, finished: true };
      if (Date.now() >= deadline) return { cursor: chunk.cursor };
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
}
