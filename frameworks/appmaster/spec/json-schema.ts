/**
 * The JSON Schema of the job spec, generated from the zod schema so that the two cannot drift.
 * It describes what users write (the input side: quantities as strings, defaults optional), for
 * editors and other tools; cross-field rules (port conflicts, …) are checked only by Galaxy.
 */
import { z } from 'zod';
import { JobSpecSchema } from './schema.js';

/** Where the schema is published, relative to the repository root. */
export const JOB_SCHEMA_PATH = 'schemas/job.schema.json';

/** The JSON Schema (draft 2020-12) of a job spec as written. */
export function jobSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(JobSpecSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return {
    ...schema,
    title: 'Galaxy job spec',
    description: 'A job of the AppMaster, written in YAML or JSON. Check a file with `galaxy job validate <file>`.',
  };
}

/** The published file's exact text: 2-space JSON with a trailing newline. */
export function renderJobSpecJsonSchema(): string {
  return `${JSON.stringify(jobSpecJsonSchema(), null, 2)}\n`;
}
