/**
 * Isolator loading: built-in names (`cpu`, `memory`, `pids`, `blkio`, `disk`, `disk-du`, `tcp`, `volumes`) or module paths, from `--isolation`.
 */
import { GalaxyError } from '../core/errors.js';
import { loadPlugin, type PluginMeta } from '../core/plugin-loader.js';
import blkio from './blkio/index.js';
import cpu from './cpu/index.js';
import disk, { duPlugin as diskDu } from './disk/index.js';
import memory from './memory/index.js';
import pids from './pids/index.js';
import tcp from './tcp/index.js';
import volumes from './volumes/index.js';
import { ISOLATOR_API_VERSION, type Isolator, type IsolatorOptions, type IsolatorPlugin } from './isolator.js';

export * from './isolator.js';
export * from './cgroup-driver.js';

/** The built-in isolators by name. */
export const BUILTIN_ISOLATORS: Readonly<Record<string, IsolatorPlugin>> = {
  cpu,
  memory,
  pids,
  blkio,
  disk,
  'disk-du': diskDu,
  tcp,
  volumes,
};

function isIsolatorPlugin(value: PluginMeta): value is IsolatorPlugin {
  return typeof (value as Partial<IsolatorPlugin>).create === 'function';
}

/** Loads the isolators of an `--isolation` list such as `cpu,memory,pids,./my-isolator.js`. */
export async function loadIsolators(spec: string, options: IsolatorOptions): Promise<Isolator[]> {
  const names = spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (new Set(names).size !== names.length)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--isolation names an isolator twice: "${spec}"`);
  const isolators: Isolator[] = [];
  for (const name of names) {
    const plugin = await loadPlugin('isolator', name, BUILTIN_ISOLATORS, ISOLATOR_API_VERSION, isIsolatorPlugin);
    isolators.push(plugin.create(options));
  }
  return isolators;
}
