/**
 * Reads a job spec from YAML or JSON text (JSON is YAML's flow style, so one parser serves both)
 * and validates it against {@link JobSpecSchema}. Every problem comes back at once, each with its
 * path, line and column.
 *
 * Parsing is linear in the spec's size: the spec is at most {@link MAX_SPEC_BYTES}, duplicate keys
 * are found with one set per map (the YAML library's own check compares every pair), problems are
 * located through a per-map index, and at most {@link MAX_KEPT_ISSUES} are kept. The AppMaster's API
 * reads specs with {@link parseJobSpecJson}, which uses the native JSON parser and reads the text
 * as YAML only to locate the problems of a small spec.
 */
import { isAlias, isCollection, isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { JobSpecSchema, type JobSpec } from './schema.js';
import { SpecError, toSpecIssues, type SpecIssue } from './issues.js';

export { SpecError, type SpecIssue } from './issues.js';

/** The largest spec accepted, in bytes; a job spec is a page, not a data set. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** Aliases allowed when expanding the document; low, so that a "billion laughs" spec is refused early. */
const MAX_ALIASES = 32;

/** A JSON spec up to this size that fails validation is also read as YAML, to give its problems lines. */
const LOCATE_JSON_BYTES = 64 * 1024;

/**
 * Fields and list items a spec may hold in all. A valid spec holds about a thousand at most (64
 * labels, 256 variables, 32 ports, volumes, data packages and services, and their fields), so
 * more is refused before the schema looks at each one.
 */
export const MAX_SPEC_NODES = 5000;

/** Lines (and, separately, commas and colons) a spec may have: far more than any spec, far fewer than a flood of keys. */
export const MAX_SPEC_LINES = 20_000;

function fail(source: string, message: string, line = 1, column = 1): never {
  throw new SpecError(source, [{ path: '', line, column, message }]);
}

function checkSize(text: string, source: string): void {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_SPEC_BYTES) fail(source, `the spec is ${size} bytes; the limit is ${MAX_SPEC_BYTES} (1 MiB)`);
}

/** How often `char` occurs in `text`, counting no further than `limit + 1`. */
function occurrences(text: string, char: string, limit: number): number {
  let count = 0;
  for (let at = text.indexOf(char); at >= 0 && count <= limit; at = text.indexOf(char, at + 1)) count += 1;
  return count;
}

/**
 * Refuses text whose lines, commas (flow-style entries) or colons (keys) show it holds far more
 * than a spec, before any parser spends time on it.
 */
function checkShape(text: string, source: string): void {
  for (const [char, what] of [
    ['\n', 'lines'],
    [',', 'commas'],
    [':', 'colons'],
  ] as const) {
    const count = occurrences(text, char, MAX_SPEC_LINES);
    if (count > MAX_SPEC_LINES)
      fail(
        source,
        `the spec has more than ${MAX_SPEC_LINES} ${what}; a job spec is a page (split the job, or move data into a package)`,
      );
  }
}

/** Refuses a value holding more than {@link MAX_SPEC_NODES} fields and items, counted without recursion. */
function checkNodes(value: unknown, source: string): void {
  let nodes = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    const children = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
    nodes += children.length;
    if (nodes > MAX_SPEC_NODES)
      fail(
        source,
        `the spec holds more than ${MAX_SPEC_NODES} fields and list items; a job spec holds about a thousand at most`,
      );
    for (const child of children) stack.push(child);
  }
}

/** A key repeated in one map, found with one set per map (linear), where YAML's own check is quadratic. */
function duplicateKeys(doc: Document, lines: LineCounter): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const node = stack.pop();
    if (!isCollection(node)) continue;
    const seen = isMap(node) ? new Set<string>() : undefined;
    for (const item of node.items) {
      if (isPair(item)) {
        const key = isScalar(item.key) ? String(item.key.value) : undefined;
        if (seen && key !== undefined) {
          if (seen.has(key)) {
            const { line, col } = lines.linePos(isScalar(item.key) ? (item.key.range?.[0] ?? 0) : 0);
            issues.push({ path: '', line, column: col, message: `Map keys must be unique; "${key}" is repeated` });
          }
          seen.add(key);
        }
        if (!isAlias(item.value)) stack.push(item.value);
      } else if (!isAlias(item)) {
        stack.push(item);
      }
    }
  }
  return issues;
}

/**
 * Parses and validates a job spec. `source` names the text in error messages (a file name).
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseJobSpec(text: string, source = '<spec>'): JobSpec {
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
  const result = JobSpecSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const { issues, omitted } = toSpecIssues(result.error.issues, JobSpecSchema, { doc, lines });
  throw new SpecError(source, issues, omitted);
}

/**
 * Parses and validates a spec sent as JSON (the AppMaster API's `spec_json`; the CLI has read and
 * checked the user's file already): the native JSON parser, then the schema. Problems of a spec
 * over 64 KiB are reported by path only, without reading the text a second time.
 *
 * @throws {SpecError} (`GALAXY_E_SPEC_INVALID`) listing every problem found, one per line.
 */
export function parseJobSpecJson(text: string, source = 'spec'): JobSpec {
  checkSize(text, source);
  checkShape(text, source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    fail(source, `the spec is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  checkNodes(value, source);
  const result = JobSpecSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  if (Buffer.byteLength(text, 'utf8') <= LOCATE_JSON_BYTES) {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
    if (doc.errors.length === 0) {
      const { issues, omitted } = toSpecIssues(result.error.issues, JobSpecSchema, { doc, lines });
      throw new SpecError(source, issues, omitted);
    }
  }
  const { issues, omitted } = toSpecIssues(result.error.issues, JobSpecSchema);
  throw new SpecError(source, issues, omitted);
}
