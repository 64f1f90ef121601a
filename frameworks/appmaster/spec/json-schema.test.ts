import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { JOB_SCHEMA_PATH, jobSpecJsonSchema, renderJobSpecJsonSchema } from './json-schema.js';
import { repositoryRoot } from './write-schema.js';

describe('the published JSON Schema', () => {
  it(`${JOB_SCHEMA_PATH} is up to date with the zod schema (regenerate: node dist/frameworks/appmaster/spec/write-schema.js)`, async () => {
    const published = await readFile(new URL(`../../../${JOB_SCHEMA_PATH}`, import.meta.url), 'utf8');
    expect(published).toBe(renderJobSpecJsonSchema());
  });

  it('requires the fields a job cannot do without and refuses unknown ones', () => {
    const schema = jobSpecJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect([...(schema.required as string[])].sort()).toEqual(['commands', 'name', 'package', 'replicas', 'resources']);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties as object)).toContain('deploy');
  });

  it('finds the repository root from this module', () => {
    expect(repositoryRoot()).toBe(fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, ''));
  });
});
