/**
 * Agent plugin loading: `galaxy agent --plugin <name|path>`, by built-in name or module path,
 * with the same loader and metadata checks as isolators and allocators. The agent's own plugins
 * (the task trace, the isolators) are always applied; these come after them, in order.
 */
import { loadPlugin, loadPluginList, type PluginMeta } from '../../core/plugin-loader.js';
import { AGENT_PLUGIN_API_VERSION, type AgentPlugin } from '../hooks.js';

/** Agent plugins an operator may name without a path (none yet: the built-ins are always on). */
export const BUILTIN_AGENT_PLUGINS: Readonly<Record<string, AgentPlugin>> = {};

function isAgentPlugin(value: PluginMeta): value is AgentPlugin {
  return typeof (value as Partial<AgentPlugin>).apply === 'function';
}

/** Loads the agent plugins named by `specs` (built-in names or module paths), in order. */
export function loadAgentPlugins(specs: readonly string[]): Promise<AgentPlugin[]> {
  return loadPluginList('--plugin', specs, (spec) =>
    loadPlugin('agent', spec, BUILTIN_AGENT_PLUGINS, AGENT_PLUGIN_API_VERSION, isAgentPlugin, 'its `apply(agent)`'),
  );
}
