/**
 * MapReduce job specs: defaults filled in, bad input refused with an error naming the field, and
 * the input directory listed and split.
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { GalaxyError } from '../../core/errors.js';
import { neverAllowed, notNormal } from '../../core/host-paths.js';
import { validateResources } from '../../core/resources.js';
import { checkId } from '../../core/validate.js';
import type { Resources } from '../../proto/gen/galaxy/v1/common.js';
import type { MapReduceJobSpec } from '../../proto/gen/galaxy/v1/mapreduce.js';
import { splitInput, type Split } from './wordcount.js';

/** Per-task resources of a job that names none: 0.2 cpu, 128 MiB (a node process). */
const DEFAULT_RESOURCES: Resources = { cpus: 200, mem: 128 * 1024 * 1024, disk: 0, gpus: 0, ports: [] };

/** Most map or reduce tasks one job may ask for. */
export const MAX_TASKS = 1000;

const bad = (field: string, why: string): never => {
  throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `mapreduce job ${field}: ${why}`);
};

/** Returns the spec with defaults, or throws `GALAXY_E_INVALID_ARGUMENT` naming the bad field. */
export function normalizeMapReduceSpec(spec: MapReduceJobSpec): MapReduceJobSpec {
  checkId(spec.name, 'mapreduce job name');
  if (!isAbsolute(spec.input)) bad('input', `must be an absolute directory, got "${spec.input.slice(0, 100)}"`);
  // The maps bind the input into their containers: a path no agent may ever allow is refused here.
  const denied = notNormal(spec.input) ?? neverAllowed(spec.input);
  if (denied !== undefined) bad('input', `${spec.input.slice(0, 100)} ${denied}`);
  if (!isAbsolute(spec.output)) bad('output', `must be an absolute directory, got "${spec.output.slice(0, 100)}"`);
  const maps = spec.maps === 0 ? 4 : spec.maps;
  const reduces = spec.reduces === 0 ? 2 : spec.reduces;
  for (const [field, n] of [
    ['maps', maps],
    ['reduces', reduces],
  ] as const)
    if (!Number.isInteger(n) || n < 1 || n > MAX_TASKS) bad(field, `must be 1..${MAX_TASKS}, got ${n}`);
  const maxAttempts = spec.maxAttempts === 0 ? 4 : spec.maxAttempts;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 100) bad('max_attempts', 'must be 1..100');
  const resources = spec.resources ?? DEFAULT_RESOURCES;
  try {
    validateResources(resources, 'resources');
  } catch (error) {
    bad('resources', error instanceof GalaxyError ? error.detail : String(error));
  }
  if (resources.ports.length > 0) bad('resources', 'name no ports: each task is given one');
  return { ...spec, maps, reduces, maxAttempts, resources };
}

/** Lists the input directory's regular files (sorted by name) and cuts them into `maps` splits. */
export async function splitInputDir(input: string, maps: number): Promise<Split[]> {
  let names: string[];
  try {
    names = (await readdir(input)).sort();
  } catch (error) {
    return bad('input', `cannot read ${input}: ${(error as Error).message}`);
  }
  const files: { path: string; size: number }[] = [];
  for (const name of names) {
    const path = join(input, name);
    const info = await stat(path);
    if (info.isFile()) files.push({ path, size: info.size });
  }
  if (files.length === 0) bad('input', `${input} holds no regular files`);
  return splitInput(files, maps);
}
