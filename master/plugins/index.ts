/**
 * Master plugin loading: `galaxy master --plugin <name|path>`, by built-in name or module path,
 * with the same loader and metadata checks as allocators and isolators. The master's own plugins
 * are always applied (`master.ts`); these come after them, in order.
 */
import { GalaxyError } from '../../core/errors.js';
import { loadPlugin, type PluginMeta } from '../../core/plugin-loader.js';
import { MASTER_PLUGIN_API_VERSION, type MasterPlugin } from '../plugin.js';

/** Master plugins an operator may name without a path (none yet: the built-ins are always on). */
export const BUILTIN_MASTER_PLUGINS: Readonly<Record<string, MasterPlugin>> = {};

function isMasterPlugin(value: PluginMeta): value is MasterPlugin {
  return typeof (value as Partial<MasterPlugin>).apply === 'function';
}

/** Loads the master plugins named by `specs` (built-in names or module paths), in order. */
export async function loadMasterPlugins(specs: readonly string[]): Promise<MasterPlugin[]> {
  if (new Set(specs).size !== specs.length)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--plugin names a plugin twice: ${specs.join(', ')}`);
  const plugins: MasterPlugin[] = [];
  for (const spec of specs)
    plugins.push(
      await loadPlugin(
        'master',
        spec,
        BUILTIN_MASTER_PLUGINS,
        MASTER_PLUGIN_API_VERSION,
        isMasterPlugin,
        'its `apply(master)`',
      ),
    );
  return plugins;
}
