/**
 * What a spec update means for the running pods. Galaxy's point is that most updates happen
 * inside the running container (ARCHITECTURE §9): only a change that needs a different container
 * replaces it.
 */
import { isDeepStrictEqual } from 'node:util';
import { GalaxyError } from '../../../core/errors.js';
import type { JobSpec } from './schema.js';

/**
 * How an update is carried out, from the heaviest to the lightest:
 * - `replace`: a new container (resources, volumes, ports, placement);
 * - `rebuild`: a new version installed and restarted in place;
 * - `reload`: new data packages and the reload command, no restart;
 * - `scale`: only the number of pods changes;
 * - `none`: nothing the pods see (deploy or failure policy alone).
 */
export type ChangeKind = 'none' | 'scale' | 'reload' | 'rebuild' | 'replace';

/** The kind of an update and the top-level fields that changed. */
export interface SpecChange {
  kind: ChangeKind;
  /** Changed top-level fields, in spec order (`replicas` included when it changed too). */
  fields: string[];
}

/** Which kind of change each top-level field causes; typed so that a new field must be classified here. */
const FIELD_KIND: Record<Exclude<keyof JobSpec, 'name'>, ChangeKind> = {
  band: 'replace',
  pool: 'replace',
  labels: 'replace',
  replicas: 'scale',
  maxPerHost: 'replace',
  ports: 'replace',
  resources: 'replace',
  volumes: 'replace',
  container: 'replace',
  package: 'rebuild',
  commands: 'rebuild',
  health: 'rebuild',
  liveness: 'rebuild',
  data: 'reload',
  services: 'rebuild',
  env: 'rebuild',
  deploy: 'none',
  failure: 'none',
};

/** Heaviest first; the heaviest kind among the changed fields wins. */
const WEIGHT: readonly ChangeKind[] = ['replace', 'rebuild', 'reload', 'scale', 'none'];

/**
 * Classifies an update from `before` to `after` (both validated specs).
 *
 * @throws {GalaxyError} `GALAXY_E_SPEC_INVALID` when the name differs: a renamed job is a new job.
 */
export function classifyChange(before: JobSpec, after: JobSpec): SpecChange {
  if (before.name !== after.name)
    throw new GalaxyError(
      'GALAXY_E_SPEC_INVALID',
      `name: the job "${before.name}" cannot be renamed to "${after.name}"; submit a new job and remove the old one`,
    );
  const fields = (Object.keys(FIELD_KIND) as (keyof typeof FIELD_KIND)[]).filter(
    (field) => !isDeepStrictEqual(before[field], after[field]),
  );
  const kinds = new Set(fields.map((field) => FIELD_KIND[field]));
  const kind = WEIGHT.find((k) => kinds.has(k)) ?? 'none';
  return { kind, fields };
}

/** One changed leaf of a spec: its dotted path and both values (undefined: absent). */
export interface FieldChange {
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Every changed leaf between two validated specs, in key order (`galaxy job diff`). */
export function fieldDiff(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (isDeepStrictEqual(before, after)) return [];
  const bothObjects = typeof before === 'object' && before !== null && typeof after === 'object' && after !== null;
  if (!bothObjects || Array.isArray(before) !== Array.isArray(after)) return [{ path, before, after }];
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  return keys.flatMap((key) => fieldDiff(b[key], a[key], path === '' ? key : `${path}.${key}`));
}
