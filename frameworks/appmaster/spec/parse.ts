/**
 * Reads a job spec from YAML or JSON text and validates it against {@link JobSpecSchema}, with the
 * spec reader every framework shares (`core/spec/parse.ts`, linear in the spec's size). Every
 * problem comes back at once, each with its path, line and column. The AppMaster's API reads specs
 * with {@link parseJobSpecJson}, which uses the native JSON parser.
 */
import { parseSpecJson, parseSpecText } from '../../../core/spec/parse.js';
import { JobSpecSchema, type JobSpec } from './schema.js';

export { MAX_SPEC_BYTES, MAX_SPEC_LINES, MAX_SPEC_NODES, SpecError, type SpecIssue } from '../../../core/spec/parse.js';

/**
 * Parses and validates a job spec. `source` names the text in error messages (a file name).
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseJobSpec(text: string, source = '<spec>'): JobSpec {
  return parseSpecText(JobSpecSchema, text, source);
}

/**
 * Parses and validates a spec sent as JSON (the AppMaster API's `spec_json`; the CLI has read and
 * checked the user's file already). Problems of a spec over 64 KiB are reported by path only.
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseJobSpecJson(text: string, source = 'spec'): JobSpec {
  return parseSpecJson(JobSpecSchema, text, source);
}
