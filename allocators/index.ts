/**
 * Allocator loading: a policy by name — `drf` (default), `round-robin` (alias `first-fit`) — or
 * the path of a module exporting an {@link AllocatorPolicyPlugin} (a sorter, run by the
 * hierarchical allocator) or an {@link AllocatorPlugin} (a whole allocator).
 */
import { loadPlugin, type PluginMeta } from '../core/plugin-loader.js';
import { ALLOCATOR_API_VERSION, type Allocator, type AllocatorOptions, type AllocatorPlugin } from './allocator.js';
import drf from './drf/index.js';
import { HierarchicalAllocator } from './hierarchical/hierarchical-allocator.js';
import roundRobin from './round-robin/index.js';
import type { AllocatorPolicyPlugin } from './sorter.js';

export * from './allocator.js';
export * from './sorter.js';
export { HierarchicalAllocator } from './hierarchical/hierarchical-allocator.js';

/** What `--allocator` may load: a policy (the usual case) or a whole allocator. */
export type AnyAllocatorPlugin = AllocatorPolicyPlugin | AllocatorPlugin;

/** The built-in policies by name. */
export const BUILTIN_ALLOCATORS: Readonly<Record<string, AllocatorPolicyPlugin>> = {
  drf,
  'round-robin': roundRobin,
};

/** Former names of built-in policies, still accepted by `--allocator`. */
export const ALLOCATOR_ALIASES: Readonly<Record<string, string>> = { 'first-fit': 'round-robin' };

function isAllocatorPlugin(value: PluginMeta): value is AnyAllocatorPlugin {
  const v = value as Partial<AllocatorPolicyPlugin & AllocatorPlugin>;
  return typeof v.createSorter === 'function' || typeof v.create === 'function';
}

/** Creates the allocator a plugin describes: a policy runs in the hierarchical allocator. */
export function createAllocator(plugin: AnyAllocatorPlugin, options: AllocatorOptions = {}): Allocator {
  return 'createSorter' in plugin ? new HierarchicalAllocator(plugin, options) : plugin.create(options);
}

/** Loads and creates the allocator named by `spec`. */
export async function loadAllocator(spec: string, options: AllocatorOptions = {}): Promise<Allocator> {
  const plugin = await loadPlugin<AnyAllocatorPlugin>(
    'allocator',
    Object.hasOwn(ALLOCATOR_ALIASES, spec) ? (ALLOCATOR_ALIASES[spec] ?? spec) : spec,
    BUILTIN_ALLOCATORS,
    ALLOCATOR_API_VERSION,
    isAllocatorPlugin,
  );
  return createAllocator(plugin, options);
}
