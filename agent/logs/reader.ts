/**
 * Reads a task's output files from its sandbox for `galaxy logs` (docs/security.md, "Logs"). The
 * sandbox is the task's to write: every file is opened without following links and non-blocking,
 * and only regular files are read, so a link the task planted (`stdout.1 -> /etc/shadow`) or a
 * FIFO yields nothing of the host's and never blocks the agent, which runs as root.
 */
import { constants } from 'node:fs';
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { isLogFileName, logFileName, MAX_LOG_FILES, type LogStreamName } from '../../core/task-logs.js';
import { formatCursor, positionOf, sincePosition, type LogFile, type LogPosition } from './cursor.js';

/** How far back a tail looks at most, whatever the files hold (a task without rotation). */
const MAX_TAIL_SCAN_BYTES = 64 * 1024 * 1024;

/** One read. */
export interface LogReadRequest {
  readonly stream: LogStreamName;
  /** '' at first. */
  readonly cursor: string;
  readonly maxBytes: number;
  /** At the first read: the last N lines. */
  readonly tailLines?: number;
  /** At the first read: the files written since (ms since the epoch; 0: all). */
  readonly sinceMs: number;
}

/** What a read found. */
export interface LogReadResult {
  readonly data: Buffer;
  /** Where the next read starts ('' when there is no output yet). */
  readonly cursor: string;
  readonly gap: boolean;
}

interface OpenLog extends LogFile {
  readonly handle: FileHandle;
}

/** Opens `stream`'s files in `sandbox`, oldest first: regular files only, never through a link. */
async function openLogs(sandbox: string, stream: LogStreamName): Promise<OpenLog[]> {
  const names = new Set((await readdir(sandbox).catch(() => [] as string[])).filter(isLogFileName));
  const files: OpenLog[] = [];
  for (let index = MAX_LOG_FILES; index >= 0; index--) {
    const name = logFileName(stream, index);
    if (!names.has(name)) continue;
    let handle: FileHandle;
    try {
      handle = await open(`${sandbox}/${name}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      continue; // a link (ELOOP), or gone since the listing
    }
    const info = await handle.stat({ bigint: true });
    // A hard link (nlink > 1) is no file the log writer made: it could name something else's data.
    if (!info.isFile() || info.nlink !== 1n) {
      await handle.close();
      continue;
    }
    files.push({
      handle,
      ino: `${info.ino}-${info.birthtimeNs}`,
      size: Number(info.size),
      mtimeMs: Number(info.mtimeMs),
    });
  }
  return files;
}

/** Reads `length` bytes of `file` at `position` (fewer at its end). */
async function readAt(file: OpenLog, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.max(0, Math.min(length, file.size - position)));
  if (buffer.length === 0) return buffer;
  const { bytesRead } = await file.handle.read(buffer, 0, buffer.length, position);
  return buffer.subarray(0, bytesRead);
}

/**
 * Where the last `lines` lines start: after the newline that ends the line before them (a final
 * newline ends the last line and is not counted as one), scanning back across rotated files.
 */
async function tailPosition(files: readonly OpenLog[], lines: number): Promise<LogPosition> {
  const last = files.length - 1;
  const end: LogPosition = { index: last, offset: files[last]?.size ?? 0, gap: false };
  if (lines <= 0) return end;
  let wanted = lines;
  let atEnd = true;
  let scanned = 0;
  const block = 64 * 1024;
  for (let index = last; index >= 0; index--) {
    const file = files[index] as OpenLog;
    for (let stop = file.size; stop > 0;) {
      const start = Math.max(0, stop - block);
      const bytes = await readAt(file, start, stop - start);
      for (let at = bytes.length - 1; at >= 0; at--) {
        if (bytes[at] !== 0x0a) {
          atEnd = false;
          continue;
        }
        if (atEnd) {
          atEnd = false; // the newline that ends the last line
          continue;
        }
        wanted -= 1;
        if (wanted === 0) return { index, offset: start + at + 1, gap: false };
      }
      scanned += bytes.length;
      if (scanned >= MAX_TAIL_SCAN_BYTES) return { index, offset: start, gap: false };
      stop = start;
    }
  }
  return { index: 0, offset: 0, gap: false };
}

/** Reads one chunk of `stream`'s output in `sandbox`, from the request's cursor (or tail, or since). */
export async function readLogChunk(sandbox: string, request: LogReadRequest): Promise<LogReadResult> {
  const files = await openLogs(sandbox, request.stream);
  try {
    if (files.length === 0) return { data: Buffer.alloc(0), cursor: request.cursor, gap: false };
    let position: LogPosition | undefined;
    if (request.cursor === '' && request.tailLines !== undefined)
      position = await tailPosition(files, request.tailLines);
    else if (request.cursor === '' && request.sinceMs > 0) position = sincePosition(files, request.sinceMs);
    else position = positionOf(files, request.cursor);
    if (!position) return { data: Buffer.alloc(0), cursor: request.cursor, gap: false };
    // At the end of a rotated file, the newer one goes on.
    while (position.index < files.length - 1 && position.offset >= (files[position.index] as OpenLog).size)
      position = { index: position.index + 1, offset: 0, gap: position.gap };
    const file = files[position.index] as OpenLog;
    const data = await readAt(file, position.offset, request.maxBytes);
    return { data, cursor: formatCursor(file.ino, position.offset + data.length), gap: position.gap };
  } finally {
    await Promise.all(files.map((f) => f.handle.close()));
  }
}
