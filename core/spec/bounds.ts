/**
 * What keeps reading a spec linear in its size, whatever a caller sends: a size cap, a count of
 * lines, commas and colons before any parser runs, a count of fields and items before the schema
 * runs, and duplicate keys found with one set per map (the YAML library's own check compares
 * every pair). Every spec reader (`parse.ts`) applies them.
 */
import { isAlias, isCollection, isMap, isPair, isScalar, type Document, type LineCounter } from 'yaml';
import { SpecError, type SpecIssue } from './issues.js';

/** The largest spec accepted, in bytes; a spec is a page, not a data set. */
export const MAX_SPEC_BYTES = 1024 * 1024;

/**
 * Fields and list items a spec may hold in all. A valid job spec holds about a thousand at most
 * (64 labels, 256 variables, 32 ports, volumes, data packages and services, and their fields), a
 * batch spec far fewer, so more is refused before the schema looks at each one.
 */
export const MAX_SPEC_NODES = 5000;

/** Lines (and, separately, commas and colons) a spec may have: far more than any spec, far fewer than a flood of keys. */
export const MAX_SPEC_LINES = 20_000;

/** Refuses the spec with one problem at `line:column` (the whole document by default). */
export function fail(source: string, message: string, line = 1, column = 1): never {
  throw new SpecError(source, [{ path: '', line, column, message }]);
}

/** Refuses text over {@link MAX_SPEC_BYTES}. */
export function checkSize(text: string, source: string): void {
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
export function checkShape(text: string, source: string): void {
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
export function checkNodes(value: unknown, source: string): void {
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
export function duplicateKeys(doc: Document, lines: LineCounter): SpecIssue[] {
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
