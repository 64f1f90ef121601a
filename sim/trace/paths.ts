/**
 * Where the cluster traces are: `$GALAXY_TRACES`, else `../shared/data/traces` beside the
 * checkout (as issue 16 names them), else `/work/shared/data/traces`.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packageRoot } from '../../core/paths.js';

/** The traces directory (the first candidate that exists; the last one otherwise, for the error). */
export function tracesDir(): string {
  const candidates = [
    process.env.GALAXY_TRACES,
    resolve(packageRoot(), '..', 'shared', 'data', 'traces'),
    resolve(packageRoot(), '..', '..', 'shared', 'data', 'traces'),
    '/work/shared/data/traces',
  ].filter((c): c is string => c !== undefined && c !== '');
  return candidates.find((c) => existsSync(join(c, 'google2011'))) ?? candidates.at(-1) ?? '';
}
