/**
 * AppMaster plugins of an operator's own, named by module path (`galaxy framework run appmaster
 * --option plugins=./a.js,./b.js`): loaded and checked by the plugin loader like allocators and
 * isolators, then applied after the AppMaster's built-in plugins, in the order given.
 */
import { loadPlugin, loadPluginList, pluginSpecs, type PluginMeta } from '../../../core/plugin-loader.js';
import type { AppMasterPlugin } from '../hooks.js';

/** The AppMaster plugin API this Galaxy provides (`hooks.ts`); a plugin's `galaxyApi` must admit it. */
export const APPMASTER_PLUGIN_API_VERSION = '1.0.0';

/** An AppMaster plugin as a module exports it: metadata and `apply`. */
export type LoadableAppMasterPlugin = AppMasterPlugin & PluginMeta & { readonly kind: 'appmaster' };

function isAppMasterPlugin(value: PluginMeta): value is LoadableAppMasterPlugin {
  return typeof (value as Partial<AppMasterPlugin>).apply === 'function';
}

/** Loads the plugins of a comma-separated list of module paths ('' : none). */
export function loadAppMasterPlugins(list: string): Promise<LoadableAppMasterPlugin[]> {
  return loadPluginList('--option plugins=', pluginSpecs(list), (spec) =>
    loadPlugin('appmaster', spec, {}, APPMASTER_PLUGIN_API_VERSION, isAppMasterPlugin),
  );
}
