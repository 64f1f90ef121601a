/**
 * Reads a task's output files from its sandbox for `galaxy logs` (docs/security.md, "Logs"). The
 * sandbox is the task's to write: every file is opened without following links and non-blocking,
 * and only regular files are read, so a link the task planted (`stdout.1 -> /etc/shadow`) or a
 * FIFO yields nothing of the host's and never blocks the agent, which runs as root.
 */
import { constants, type BigIntStats } from 'node:fs';
import { lstat, open, readdir, type FileHandle } from 'node:fs/promises';
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

/** Attempts at a listing no rotation ran through before the reader takes the last one it got. */
const MAX_LISTING_ATTEMPTS = 10;

/** What a name held: a file's identity, or `other` (a link, a FIFO, a hard link: read as nothing). */
type NameState = string;
const OTHER: NameState = 'other';

/** A file's identity from its stat: the inode and the birth time that tells a reused inode apart. */
function identity(info: BigIntStats): NameState {
  return info.isFile() && info.nlink === 1n ? `${info.ino}-${info.birthtimeNs}` : OTHER;
}

/** `stream`'s names in `sandbox`, oldest first (`stdout.2`, `stdout.1`, `stdout`). */
async function logNames(sandbox: string, stream: LogStreamName): Promise<string[]> {
  const names = new Set((await readdir(sandbox).catch(() => [] as string[])).filter(isLogFileName));
  const ordered: string[] = [];
  for (let index = MAX_LOG_FILES; index >= 0; index--) {
    const name = logFileName(stream, index);
    if (names.has(name)) ordered.push(name);
  }
  return ordered;
}

/** Opens `stream`'s files in `sandbox`, oldest first: regular files only, never through a link. */
async function openOnce(
  sandbox: string,
  stream: LogStreamName,
): Promise<{ files: OpenLog[]; held: Map<string, NameState> }> {
  const files: OpenLog[] = [];
  const held = new Map<string, NameState>();
  for (const name of await logNames(sandbox, stream)) {
    let handle: FileHandle;
    try {
      handle = await open(`${sandbox}/${name}`, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      // Gone since the listing, or a link (ELOOP).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') held.set(name, OTHER);
      continue;
    }
    const info = await handle.stat({ bigint: true });
    const ino = identity(info);
    held.set(name, ino);
    // A hard link (nlink > 1) is no file the log writer made: it could name something else's data.
    if (ino === OTHER) {
      await handle.close();
      continue;
    }
    files.push({ handle, ino, size: Number(info.size), mtimeMs: Number(info.mtimeMs) });
  }
  return { files, held };
}

/** True when every name still holds what it held when opened, and no name came since. */
async function unchanged(sandbox: string, stream: LogStreamName, held: Map<string, NameState>): Promise<boolean> {
  const names = await logNames(sandbox, stream);
  if (names.length !== held.size) return false;
  for (const name of names) {
    const info = await lstat(`${sandbox}/${name}`, { bigint: true }).catch(() => undefined);
    if (info === undefined || held.get(name) !== identity(info)) return false;
  }
  return true;
}

/**
 * Opens `stream`'s files as one listing: all at their names at one moment. The writer rotates by
 * renames (`stdout.1` -> `stdout.2`, `stdout` -> `stdout.1`, a new `stdout`) while the files are
 * opened one by one, so a listing opened across a rotation would hold the old `stdout.2` beside
 * the new `stdout.1`, the file between them missing: a cursor in that file would read as rotated
 * away and start over at the oldest (output read again), and one at the end of the old
 * `stdout.2` would step over it (output lost, no gap flagged). So the names are looked at again
 * once opened: a name only ever takes a newer file, never an older one back, so a name holding the
 * same file at its open and at the check held it all along, and the whole listing held together
 * in between. Else it is opened again (a task renaming its own files without end gets the last).
 */
async function openLogs(sandbox: string, stream: LogStreamName): Promise<OpenLog[]> {
  for (let attempt = 1; ; attempt++) {
    const { files, held } = await openOnce(sandbox, stream);
    if (attempt >= MAX_LISTING_ATTEMPTS || (await unchanged(sandbox, stream, held))) return files;
    await Promise.all(files.map((f) => f.handle.close()));
  }
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
