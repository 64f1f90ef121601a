/**
 * Reads a spec from YAML or JSON text (JSON is YAML's flow style, so one parser serves both) and
 * validates it against a zod schema. Every problem comes back at once, each with its path, line
 * and column. The AppMaster's job specs and the batch framework's specs are read here.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { SpecError, toSpecIssues, type SpecIssue } from './issues.js';

export { SpecError, type SpecIssue } from './issues.js';

/** The largest spec accepted, in bytes; a spec is a page, not a data set. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** Aliases allowed when expanding the document; low, so that a "billion laughs" spec is refused early. */
const MAX_ALIASES = 32;

function fail(source: string, message: string, line = 1, column = 1): never {
  throw new SpecError(source, [{ path: '', line, column, message }]);
}

/**
 * Parses `text` and validates it against `schema`. `source` names the text in error messages (a
 * file name).
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseSpecText<S extends z.ZodType>(schema: S, text: string, source: string): z.output<S> {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SPEC_BYTES) fail(source, `the spec is ${size} bytes; the limit is ${MAX_SPEC_BYTES} (1 MiB)`);
  const lines = new LineCounter();
  let value: unknown;
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    const syntax: SpecIssue[] = doc.errors.map((error) => {
      const { line, col } = lines.linePos(error.pos[0]);
      return { path: '', line, column: col, message: error.message };
    });
    if (syntax.length > 0) throw new SpecError(source, syntax);
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    if (error instanceof SpecError) throw error;
    // The parser's own limits (alias expansion, nesting that exhausts the stack) land here.
    const reason = error instanceof Error ? error.message : String(error);
    fail(source, `cannot read the spec: ${reason}`);
  }
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new SpecError(source, toSpecIssues(result.error.issues, schema, { doc, lines }));
}

/**
 * Validates a spec that arrived as a value (an API request) against `schema`; the problems name
 * their paths but no lines.
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found.
 */
export function parseSpecValue<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new SpecError(source, toSpecIssues(result.error.issues, schema));
}
