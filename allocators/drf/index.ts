/**
 * The `drf` allocation policy: hierarchical weighted Dominant Resource Fairness (the default).
 */
import { builtinMeta } from '../../core/plugin-loader.js';
import { ALLOCATOR_API_VERSION } from '../allocator.js';
import type { AllocatorPolicyPlugin } from '../sorter.js';
import { drfPolicy } from './drf-allocator.js';

export { DrfAllocator, drfPolicy } from './drf-allocator.js';
export { DrfSorter, type DrfSorterOptions } from './sorter.js';

/** The plugin object the loader finds under the name `drf`. */
export const plugin: AllocatorPolicyPlugin = {
  ...drfPolicy,
  ...builtinMeta('allocator', 'drf', ALLOCATOR_API_VERSION),
};

export default plugin;
