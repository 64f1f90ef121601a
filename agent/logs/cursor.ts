/**
 * Where a reader of a task's rotated output stands: a file (by inode and birth time, which a rename
 * keeps; the birth time tells a new file from an old one whose inode it reused) and an offset in it. Pure: the reader (`reader.ts`) lists the files and carries the decisions out.
 */

/** One output file as listed, oldest first. */
export interface LogFile {
  /** `<inode>-<birth time in ns>`: one file's identity. */
  readonly ino: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A position: the file's index in the listing and an offset in it. */
export interface LogPosition {
  readonly index: number;
  readonly offset: number;
  /** Output between the cursor and this position was rotated away. */
  readonly gap: boolean;
}

/** The cursor text a LogData carries: `<inode>-<birth ns>:<offset>`. */
export function formatCursor(ino: string, offset: number): string {
  return `${ino}:${offset}`;
}

/** Reads a cursor; undefined for '' or anything malformed (the master sends back what it got). */
export function parseCursor(text: string): { ino: string; offset: number } | undefined {
  const match = /^([0-9]{1,20}(?:-[0-9]{1,25})?):([0-9]{1,15})$/.exec(text);
  if (!match) return undefined;
  return { ino: match[1] ?? '', offset: Number(match[2]) };
}

/**
 * Where to read next from `cursor` in `files` (oldest first): in its file while that has more,
 * else at the start of the next newer file. A file rotated away (its inode gone) leaves a gap and
 * reading resumes at the oldest file kept; a file that shrank (truncated) starts over at 0.
 */
export function positionOf(files: readonly LogFile[], cursor: string): LogPosition | undefined {
  if (files.length === 0) return undefined;
  const at = parseCursor(cursor);
  if (!at) return { index: 0, offset: 0, gap: cursor !== '' };
  const index = files.findIndex((f) => f.ino === at.ino);
  if (index < 0) return { index: 0, offset: 0, gap: true };
  const file = files[index] as LogFile;
  if (at.offset > file.size) return { index, offset: 0, gap: true };
  if (at.offset === file.size && index < files.length - 1) return { index: index + 1, offset: 0, gap: false };
  return { index, offset: at.offset, gap: false };
}

/** The first file written to at or after `sinceMs` (its mtime), or past the newest file's end. */
export function sincePosition(files: readonly LogFile[], sinceMs: number): LogPosition {
  const index = files.findIndex((f) => f.mtimeMs >= sinceMs);
  if (index >= 0) return { index, offset: 0, gap: false };
  const last = files.length - 1;
  return { index: Math.max(last, 0), offset: files[last]?.size ?? 0, gap: false };
}
