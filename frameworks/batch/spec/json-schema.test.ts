import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BATCH_SCHEMA_PATH, batchSpecJsonSchema, renderBatchSpecJsonSchema } from './json-schema.js';

describe('the published batch JSON Schema', () => {
  it(`${BATCH_SCHEMA_PATH} is up to date with the zod schema (regenerate: npm run schema)`, async () => {
    const published = await readFile(new URL(`../../../${BATCH_SCHEMA_PATH}`, import.meta.url), 'utf8');
    expect(published).toBe(renderBatchSpecJsonSchema());
  });

  it('requires a name and a command, refuses unknown fields, and describes the schedule', () => {
    const schema = batchSpecJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect([...(schema.required as string[])].sort()).toEqual(['command', 'name']);
    expect(schema.additionalProperties).toBe(false);
    const schedule = (schema.properties as Record<string, { properties?: Record<string, unknown> }>).schedule;
    expect(Object.keys(schedule?.properties ?? {})).toEqual(
      expect.arrayContaining(['cron', 'timeZone', 'concurrencyPolicy', 'startingDeadlineS']),
    );
  });
});
