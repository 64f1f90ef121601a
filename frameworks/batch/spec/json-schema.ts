/**
 * The JSON Schema of the batch spec, generated from the zod schema so that the two cannot drift.
 * It describes what users write (quantities as strings, defaults optional); `npm run schema`
 * publishes it as `schemas/batch.schema.json`.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { packageRoot } from '../../../core/paths.js';
import { BatchSpecSchema } from './schema.js';

/** Where the schema is published, relative to the repository root. */
export const BATCH_SCHEMA_PATH = 'schemas/batch.schema.json';

/** The JSON Schema (draft 2020-12) of a batch spec as written. */
export function batchSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(BatchSpecSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  return {
    ...schema,
    title: 'Galaxy batch spec',
    description:
      'A batch job (or, with a schedule, a cron job) of the batch framework, written in YAML or JSON. Check a file with `galaxy batch validate <file>`.',
  };
}

/** The published file's exact text: 2-space JSON with a trailing newline. */
export function renderBatchSpecJsonSchema(): string {
  return `${JSON.stringify(batchSpecJsonSchema(), null, 2)}\n`;
}

// `node dist/frameworks/batch/spec/json-schema.js [file]` (npm run schema) writes the published file.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? join(packageRoot(), BATCH_SCHEMA_PATH);
  await writeFile(file, renderBatchSpecJsonSchema());
  console.log(`wrote ${file}`);
}
