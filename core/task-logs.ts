/**
 * A task's output files in its sandbox (docs/security.md, "Logs"): `stdout` and `stderr`, each
 * rotated by size into `stdout.1` (newest) … `stdout.<files-1>` (oldest) by the container helper's
 * log writer. The agent's log reader, the disk isolator (which carries them out of a quota image)
 * and the agent's flags share these names and defaults.
 */
import { GalaxyError } from './errors.js';
import { parseSize } from './sizes.js';

/** The two output streams, by file name. */
export const LOG_STREAMS = ['stdout', 'stderr'] as const;

/** One of {@link LOG_STREAMS}. */
export type LogStreamName = (typeof LOG_STREAMS)[number];

/** How a task's output is rotated. */
export interface LogRotation {
  /** A file is rotated before it would grow past this (bytes). */
  readonly maxBytes: number;
  /** Files kept per stream, the current one included (at least 1). */
  readonly maxFiles: number;
}

/** 10 MiB × 5 per stream: at most 100 MiB of a task's quota goes to its output. */
export const DEFAULT_LOG_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, maxFiles: 5 };

/** Rotated files a reader looks at, at most (an agent configured with more keeps its own count). */
export const MAX_LOG_FILES = 100;

/** True for `stdout`, `stderr` and their rotated files (`stdout.3`). */
export function isLogFileName(name: string): boolean {
  return /^(stdout|stderr)(\.[1-9][0-9]{0,2})?$/.test(name);
}

/** The file name of `stream`'s `index`th file: 0 the current one, then older ones. */
export function logFileName(stream: LogStreamName, index: number): string {
  return index === 0 ? stream : `${stream}.${index}`;
}

/**
 * The agent's `--log-max-size` and `--log-max-files`: a size of at least 4 KiB and 1–100 files.
 * Bad values are refused with the flag named, before anything starts.
 */
export function parseLogRotation(maxSize: string | undefined, maxFiles: string | undefined): LogRotation {
  const maxBytes = maxSize === undefined ? DEFAULT_LOG_ROTATION.maxBytes : parseSize(maxSize, '--log-max-size');
  if (maxBytes < 4096)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--log-max-size must be at least 4KiB, got ${maxSize}`);
  const files = maxFiles === undefined ? DEFAULT_LOG_ROTATION.maxFiles : Number(maxFiles);
  if (!Number.isInteger(files) || files < 1 || files > MAX_LOG_FILES)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `--log-max-files must be a whole number from 1 to ${MAX_LOG_FILES}, got ${maxFiles}`,
    );
  return { maxBytes, maxFiles: files };
}
