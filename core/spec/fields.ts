/**
 * The field names a schema accepts at a path, so that an unknown field can be answered with
 * "did you mean …": the commonest spec mistake is a typo.
 */
import type { z } from 'zod';

/** Looks through wrappers (defaults, optionals, transforms) to the schema that holds the shape. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = (schema as z.core.$ZodTypes)._zod.def;
  switch (def.type) {
    case 'pipe':
      return unwrap(def.in);
    case 'default':
    case 'prefault':
    case 'optional':
    case 'nullable':
    case 'readonly':
      return unwrap(def.innerType);
    default:
      return schema;
  }
}

/** The schemas `path` can lead to: several when a union lies on the way. */
function schemasAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): z.core.$ZodType[] {
  const def = (unwrap(schema) as z.core.$ZodTypes)._zod.def;
  if (def.type === 'union') return def.options.flatMap((option) => schemasAt(option, path));
  const [head, ...rest] = path;
  if (head === undefined) return [unwrap(schema)];
  if (def.type === 'object' && typeof head === 'string') {
    const field = def.shape[head];
    return field ? schemasAt(field, rest) : [];
  }
  if (def.type === 'array' && typeof head === 'number') return schemasAt(def.element, rest);
  return [];
}

/** The field names of the map(s) `schema` expects at `path`; empty when it is not a fixed map. */
export function knownFields(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const names = schemasAt(schema, path).flatMap((found) => {
    const def = (found as z.core.$ZodTypes)._zod.def;
    return def.type === 'object' ? Object.keys(def.shape) : [];
  });
  return [...new Set(names)];
}

/** Edit distance counting a swap of neighbours as one edit (`nmae` → `name`), for short names. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] ?? [])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The candidate closest to `word` (case-insensitively), if it is close enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  if (word.length > 64) return undefined;
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const d = distance(word.toLowerCase(), name.toLowerCase());
    if (d <= limit && (best === undefined || d < best.d)) best = { name, d };
  }
  return best?.name;
}
