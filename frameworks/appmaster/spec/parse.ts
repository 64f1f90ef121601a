/**
 * Reads a job spec from YAML or JSON text and validates it against {@link JobSpecSchema}, with the
 * spec reader every framework shares (`core/spec/parse.ts`). Every problem comes back at once,
 * each with its path, line and column.
 */
import { parseSpecText } from '../../../core/spec/parse.js';
import { JobSpecSchema, type JobSpec } from './schema.js';

export { MAX_SPEC_BYTES, SpecError, type SpecIssue } from '../../../core/spec/parse.js';

/**
 * Parses and validates a job spec. `source` names the text in error messages (a file name).
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseJobSpec(text: string, source = '<spec>'): JobSpec {
  return parseSpecText(JobSpecSchema, text, source);
}
