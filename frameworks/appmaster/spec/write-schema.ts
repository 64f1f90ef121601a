/**
 * Writes `schemas/job.schema.json` from the zod schema. Run after changing `schema.ts`:
 * `node dist/frameworks/appmaster/spec/write-schema.js [file]` (a test fails while the published
 * file is out of date).
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GalaxyError } from '../../../core/errors.js';
import { JOB_SCHEMA_PATH, renderJobSpecJsonSchema } from './json-schema.js';

/** The repository root: the nearest directory above this module that holds `package.json`. */
export function repositoryRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new GalaxyError('GALAXY_E_INTERNAL', `no package.json above ${from}`);
  }
}

/** Writes the JSON Schema to `file` (by default the published one) and returns its path. */
export async function writeJobSpecJsonSchema(file = join(repositoryRoot(), JOB_SCHEMA_PATH)): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderJobSpecJsonSchema());
  return file;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`wrote ${await writeJobSpecJsonSchema(process.argv[2])}`);
}
