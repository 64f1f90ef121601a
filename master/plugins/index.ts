/**
 * Master plugin loading: `galaxy master --plugin <name|path>`, by built-in name or module path,
 * with the same loader and metadata checks as allocators and isolators. The master's own plugins
 * are always applied (`master.ts`); these come after them, in order.
 */
import { loadPlugin, loadPluginList, type PluginMeta } from '../../core/plugin-loader.js';
import { MASTER_PLUGIN_API_VERSION, type MasterPlugin } from '../plugin.js';

/** Master plugins an operator may name without a path (none yet: the built-ins are always on). */
export const BUILTIN_MASTER_PLUGINS: Readonly<Record<string, MasterPlugin>> = {};

function isMasterPlugin(value: PluginMeta): value is MasterPlugin {
  return typeof (value as Partial<MasterPlugin>).apply === 'function';
}

/** Loads the master plugins named by `specs` (built-in names or module paths), in order. */
export function loadMasterPlugins(specs: readonly string[]): Promise<MasterPlugin[]> {
  return loadPluginList('--plugin', specs, (spec) =>
    loadPlugin(
      'master',
      spec,
      BUILTIN_MASTER_PLUGINS,
      MASTER_PLUGIN_API_VERSION,
      isMasterPlugin,
      'its `apply(master)`',
    ),
  );
}
