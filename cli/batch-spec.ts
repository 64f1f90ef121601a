/**
 * A batch spec as `galaxy batch submit` and `galaxy batch cron create` read it: a YAML or JSON file
 * (`-f`, or the argument) with flags set over it, validated here with the framework's own schema,
 * so that a mistake is named with its file, line and column before anything is sent.
 */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { GalaxyError } from '../core/errors.js';
import { parseResources } from '../core/resources.js';
import { parseBatchSpec } from '../frameworks/batch/spec/parse.js';
import type { BatchSpec } from '../frameworks/batch/spec/schema.js';

/** The flags that set spec fields (each optional; a flag wins over the file). */
export interface SpecFlags {
  file?: string;
  name?: string;
  command?: string;
  completions?: string;
  parallelism?: string;
  retries?: string;
  backoff?: string;
  deadline?: string;
  resources?: string;
  band?: string;
  pool?: string;
  schedule?: string;
  timeZone?: string;
  concurrencyPolicy?: string;
  startingDeadline?: string;
  successfulHistory?: string;
  failedHistory?: string;
  suspend?: boolean;
  /** `--volume HOST[:PATH][:rw]`, repeatable: replaces the file's volumes. */
  volume?: string[];
}

/**
 * `--volume HOST[:PATH][:rw]`: a bind of a host path (at the same path unless PATH names another),
 * read-only unless `:rw`, in the spec's form (the schema checks the paths).
 */
export function parseVolumeFlag(value: string): { kind: 'bind'; hostPath: string; path: string; readOnly: boolean } {
  const parts = value.split(':');
  const writable = parts.at(-1) === 'rw';
  if (writable || parts.at(-1) === 'ro') parts.pop();
  const [hostPath = '', path = hostPath, extra] = parts;
  if (hostPath === '' || extra !== undefined)
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `--volume expects HOST[:PATH][:rw], got "${value.slice(0, 100)}"`,
    );
  return { kind: 'bind', hostPath, path, readOnly: !writable };
}

/** A number flag as the schema should see it: a number when it reads as one, else the text (reported by the schema). */
const numeric = (value: string): number | string =>
  value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : value;

/** Which spec path each flag sets, and how its text becomes a value. */
const FIELDS: readonly [keyof SpecFlags, readonly string[], (value: string) => unknown][] = [
  ['name', ['name'], String],
  ['command', ['command'], String],
  ['completions', ['completions'], numeric],
  ['parallelism', ['parallelism'], numeric],
  ['retries', ['maxRetries'], numeric],
  ['backoff', ['backoffS'], numeric],
  ['deadline', ['deadlineS'], numeric],
  ['band', ['band'], String],
  ['pool', ['pool'], String],
  ['schedule', ['schedule', 'cron'], String],
  ['timeZone', ['schedule', 'timeZone'], String],
  ['concurrencyPolicy', ['schedule', 'concurrencyPolicy'], String],
  ['startingDeadline', ['schedule', 'startingDeadlineS'], numeric],
  ['successfulHistory', ['schedule', 'successfulJobsHistoryLimit'], numeric],
  ['failedHistory', ['schedule', 'failedJobsHistoryLimit'], numeric],
];

/**
 * Reads `flags.file` (if any), sets the flags over it and validates the result.
 *
 * @throws GALAXY_E_SPEC_INVALID naming every problem as `file:line:col: path: message`
 */
export async function specFromFileAndFlags(flags: SpecFlags): Promise<BatchSpec> {
  let text = '{}';
  if (flags.file !== undefined) {
    try {
      text = await readFile(flags.file, 'utf8');
    } catch (error) {
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `cannot read ${flags.file}: ${(error as Error).message}`);
    }
  }
  const source = flags.file ?? 'flags';
  const doc = parseDocument(text);
  // A file that is not a map is left for the schema to report with its position.
  if (doc.errors.length === 0 && (doc.contents === null || typeof doc.toJS() === 'object')) {
    for (const [flag, path, read] of FIELDS) {
      const value = flags[flag];
      if (typeof value === 'string') doc.setIn(path, read(value));
    }
    if (flags.suspend === true) doc.setIn(['schedule', 'suspend'], true);
    if (flags.volume !== undefined && flags.volume.length > 0)
      doc.setIn(['volumes'], flags.volume.map(parseVolumeFlag));
    if (flags.resources !== undefined && flags.resources !== '') {
      const r = parseResources(flags.resources, '--resources');
      // Only what the flag names: `--resources cpus:2` keeps the file's mem.
      const named = (name: string) => new RegExp(`(^|;)\\s*${name}\\s*:`).test(flags.resources ?? '');
      if (named('cpus')) doc.setIn(['resources', 'cpus'], `${r.cpus}m`);
      if (named('mem')) doc.setIn(['resources', 'mem'], r.mem);
      if (named('disk')) doc.setIn(['resources', 'disk'], r.disk);
    }
    text = doc.toString();
  }
  return parseBatchSpec(text, source);
}
