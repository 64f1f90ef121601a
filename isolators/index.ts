/**
 * Isolator loading: built-in names (`cpu`, `memory`, `pids`, `blkio`, `disk`, `disk-du`, `tcp`, `volumes`) or module paths, from `--isolation`.
 */
import { loadPlugin, loadPluginList, pluginSpecs, type PluginMeta } from '../core/plugin-loader.js';
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
  const plugins = await loadPluginList('--isolation', pluginSpecs(spec), (name) =>
    loadPlugin('isolator', name, BUILTIN_ISOLATORS, ISOLATOR_API_VERSION, isIsolatorPlugin),
  );
  return plugins.map((plugin) => plugin.create(options));
}
