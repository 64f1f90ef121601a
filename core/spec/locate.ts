/**
 * Finds where a value lives in the YAML (or JSON) text a spec was read from, so that an error can
 * name the line and column a person has to fix.
 */
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Pair,
  type YAMLMap,
} from 'yaml';

/** Where a path points in the source text. */
export interface Location {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
  /** How many leading path segments exist in the document; less than the path's length when a field is missing. */
  found: number;
}

function rangeStart(node: unknown): number | undefined {
  if (isPair(node)) return rangeStart(node.key) ?? rangeStart(node.value);
  if (isScalar(node) || isMap(node) || isSeq(node) || isAlias(node)) return node.range?.[0];
  return undefined;
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** Each map's entries by key, built on the first lookup, so locating many fields stays linear. */
const indexes = new WeakMap<YAMLMap, Map<string, Pair>>();

function entry(map: YAMLMap, key: string): Pair | undefined {
  let index = indexes.get(map);
  if (!index) {
    index = new Map();
    for (const pair of map.items) {
      const text = keyText(pair.key);
      if (!index.has(text)) index.set(text, pair);
    }
    indexes.set(map, index);
  }
  return index.get(key);
}

/**
 * Locates `path` in `doc`: a map entry by its key (the key is what a person reads as the field),
 * a sequence item by its start. When the path runs out of the document (a missing field), the
 * location is that of the deepest part that exists, usually the parent map.
 */
export function locate(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): Location {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  let found = 0;
  for (const segment of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    if (isMap(node)) {
      next = entry(node, String(segment));
    } else if (isSeq(node) && typeof segment === 'number') {
      next = node.items[segment];
    }
    const start = rangeStart(next);
    if (next === undefined || start === undefined) break;
    offset = start;
    found += 1;
    node = isPair(next) ? next.value : next;
  }
  const { line, col } = lines.linePos(offset);
  return { line, column: col, found };
}
