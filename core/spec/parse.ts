/**
 * Reads a spec from YAML or JSON text (JSON is YAML's flow style, so one parser serves both) and
 * validates it against a zod schema. Every problem comes back at once, each with its path, line
 * and column. The AppMaster's job specs and the batch framework's specs are read here.
 *
 * Parsing is linear in the spec's size (`bounds.ts`): problems are located through a per-map
 * index, and at most `MAX_KEPT_ISSUES` (`issues.ts`) are kept. An API reads specs sent as JSON text with
 * {@link parseSpecJson}, which uses the native JSON parser and reads the text as YAML only to locate
 * the problems of a small spec; a spec sent as a message is checked with {@link parseSpecValue}.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { checkNodes, checkShape, checkSize, duplicateKeys, fail } from './bounds.js';
import { SpecError, toSpecIssues, type SpecIssue } from './issues.js';

export { SpecError, type SpecIssue } from './issues.js';
export { MAX_SPEC_BYTES, MAX_SPEC_LINES, MAX_SPEC_NODES } from './bounds.js';

/** Aliases allowed when expanding the document; low, so that a "billion laughs" spec is refused early. */
const MAX_ALIASES = 32;

/** A JSON spec up to this size that fails validation is also read as YAML, to give its problems lines. */
const LOCATE_JSON_BYTES = 64 * 1024;

/**
 * Parses `text` and validates it against `schema`. `source` names the text in error messages (a
 * file name).
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseSpecText<S extends z.ZodType>(schema: S, text: string, source: string): z.output<S> {
  checkSize(text, source);
  checkShape(text, source);
  const lines = new LineCounter();
  let value: unknown;
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
    const syntax: SpecIssue[] = doc.errors.map((error) => {
      const { line, col } = lines.linePos(error.pos[0]);
      return { path: '', line, column: col, message: error.message };
    });
    syntax.push(...duplicateKeys(doc, lines));
    if (syntax.length > 0) throw new SpecError(source, syntax);
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    if (error instanceof SpecError) throw error;
    // The parser's own limits (alias expansion, nesting that exhausts the stack) land here.
    const reason = error instanceof Error ? error.message : String(error);
    fail(source, `cannot read the spec: ${reason}`);
  }
  checkNodes(value, source);
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const { issues, omitted } = toSpecIssues(result.error.issues, schema, { doc, lines });
  throw new SpecError(source, issues, omitted);
}

/**
 * Parses and validates a spec sent as JSON text (the CLI has read and checked the user's file
 * already): the native JSON parser, then the schema. Problems of a spec over 64 KiB are reported by
 * path only, without reading the text a second time.
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseSpecJson<S extends z.ZodType>(schema: S, text: string, source: string): z.output<S> {
  checkSize(text, source);
  checkShape(text, source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail(source, `the spec is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  checkNodes(value, source);
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  if (Buffer.byteLength(text, 'utf8') <= LOCATE_JSON_BYTES) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
    if (doc.errors.length === 0) {
      const { issues, omitted } = toSpecIssues(result.error.issues, schema, { doc, lines });
      throw new SpecError(source, issues, omitted);
    }
  }
  const { issues, omitted } = toSpecIssues(result.error.issues, schema);
  throw new SpecError(source, issues, omitted);
}

/**
 * Validates a spec that arrived as a value (an API request's message) against `schema`; the
 * problems name their paths but no lines.
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found.
 */
export function parseSpecValue<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  checkNodes(value, source);
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const { issues, omitted } = toSpecIssues(result.error.issues, schema);
  throw new SpecError(source, issues, omitted);
}
