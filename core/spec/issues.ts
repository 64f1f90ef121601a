/**
 * Spec problems as people read them: a dotted path, a line and column, and a message that says
 * what to write instead. zod's issues are rewritten here into that form.
 */
import type { Document, LineCounter } from 'yaml';
import type { z } from 'zod';
import { GalaxyError } from '../errors.js';
import { closest, knownFields } from './fields.js';
import { locate } from './locate.js';

/** One problem in a spec. */
export interface SpecIssue {
  /** Dotted path of the field, e.g. `resources.memory.hard` or `ports[1].name`; empty for the whole document. */
  path: string;
  /** 1-based line in the source; 0 when the problem was not located (a large spec sent as JSON). */
  line: number;
  /** 1-based column in the source (0 with line 0). */
  column: number;
  message: string;
}

/** Issues listed in an error message; a garbage file can hold thousands, and the first ones matter. */
export const MAX_LISTED_ISSUES = 100;

/** Issues kept (and located) at most; the rest are only counted, so a hostile spec costs little to refuse. */
export const MAX_KEPT_ISSUES = 1000;

/**
 * A spec that cannot be used. The message lists every issue (up to {@link MAX_LISTED_ISSUES}), one
 * per line, as `source:line:col: path: message`.
 */
export class SpecError extends GalaxyError {
  /** The problems found, in source order (at most {@link MAX_KEPT_ISSUES}). */
  readonly issues: readonly SpecIssue[];

  /** @param omitted problems found beyond those in `issues`, counted only */
  constructor(source: string, issues: readonly SpecIssue[], omitted = 0) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => formatIssue(source, issue));
    const more = issues.length - listed.length + omitted;
    if (more > 0) listed.push(`${source}: … and ${more} more issues`);
    super('GALAXY_E_SPEC_INVALID', listed.join('\n'));
    this.name = 'SpecError';
    this.issues = issues;
  }
}

/** `web.yaml:7:5: resources.memory.hard: cannot read "lots" as a size (try 256Mi or 1Gi)`. */
export function formatIssue(source: string, issue: SpecIssue): string {
  const where = issue.path === '' ? '' : `${issue.path}: `;
  const at = issue.line === 0 ? '' : `${issue.line}:${issue.column}:`;
  return `${source}:${at} ${where}${issue.message}`;
}

/** `['ports', 1, 'name']` → `ports[1].name`; keys that are not plain words are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

/** zod's type names, in the words of YAML and JSON. */
const TYPE_NAMES: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
  record: 'a map',
};

/** What a person wrote, by kind: `a list`, `null`, `a string`, … */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return TYPE_NAMES[typeof value] ?? typeof value;
}

/** `expected a whole number or a string, got a list`. */
function expectedButGot(expected: readonly string[], input: unknown): string {
  const names = [...new Set(expected.map((name) => TYPE_NAMES[name] ?? name))];
  return `expected ${names.join(' or ')}, got ${kindOf(input)}`;
}

/** The message for a zod issue (parsed with `reportInput`), without zod's generic prefixes. */
function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return expectedButGot([issue.expected], issue.input);
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const expected = issue.errors.flat().flatMap((sub) => (sub.code === 'invalid_type' ? [sub.expected] : []));
    if (expected.length > 0) return expectedButGot(expected, issue.input);
  }
  return issue.message.replace(/^Invalid input: /, '');
}

/** The text a spec was read from, to locate its problems in. */
export interface SpecSource {
  readonly doc: Document;
  readonly lines: LineCounter;
}

/**
 * Turns zod's issues into {@link SpecIssue}s, one per unknown key (with the likely intended field
 * of `schema`), located in `source` when given and sorted by position. At most
 * {@link MAX_KEPT_ISSUES} are made; `omitted` counts the rest.
 */
export function toSpecIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.core.$ZodType,
  source?: SpecSource,
): { issues: SpecIssue[]; omitted: number } {
  const out: SpecIssue[] = [];
  let omitted = 0;
  const where = (path: readonly PropertyKey[]) =>
    source ? locate(source.doc, source.lines, path) : { line: 0, column: 0, found: path.length };
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const room = Math.max(0, MAX_KEPT_ISSUES - out.length);
      omitted += Math.max(0, issue.keys.length - room);
      for (const key of issue.keys.slice(0, room)) {
        const path = [...issue.path, key];
        const { line, column } = where(path);
        const intended = closest(key, knownFields(schema, issue.path));
        const hint = intended === undefined ? '' : ` (did you mean "${intended}"?)`;
        out.push({ path: formatPath(path), line, column, message: `unknown field "${key}"${hint}` });
      }
      continue;
    }
    if (out.length >= MAX_KEPT_ISSUES) {
      omitted += 1;
      continue;
    }
    const { line, column, found } = where(issue.path);
    const missing =
      issue.code === 'invalid_type' && issue.input === undefined && (source === undefined || found < issue.path.length);
    const message = missing ? `is required (${TYPE_NAMES[issue.expected] ?? issue.expected})` : describe(issue);
    out.push({ path: formatPath(issue.path), line, column, message });
  }
  return { issues: out.sort((a, b) => a.line - b.line || a.column - b.column), omitted };
}
