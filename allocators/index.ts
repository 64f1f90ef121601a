/**
 * Allocator loading: `drf` (default), `first-fit`, or the path of a module exporting an
 * {@link AllocatorPlugin}.
 */
import { loadPlugin, type PluginMeta } from '../core/plugin-loader.js';
import { ALLOCATOR_API_VERSION, type Allocator, type AllocatorOptions, type AllocatorPlugin } from './allocator.js';
import drf from './drf/index.js';
import firstFit from './first-fit/index.js';

export * from './allocator.js';

/** The built-in allocators by name. */
export const BUILTIN_ALLOCATORS: Readonly<Record<string, AllocatorPlugin>> = { drf, 'first-fit': firstFit };

function isAllocatorPlugin(value: PluginMeta): value is AllocatorPlugin {
  return typeof (value as Partial<AllocatorPlugin>).create === 'function';
}

/** Loads and creates the allocator named by `spec`. */
export async function loadAllocator(spec: string, options: AllocatorOptions = {}): Promise<Allocator> {
  const plugin = await loadPlugin('allocator', spec, BUILTIN_ALLOCATORS, ALLOCATOR_API_VERSION, isAllocatorPlugin);
  return plugin.create(options);
}
