/**
 * The `drf` allocation policy: hierarchical weighted Dominant Resource Fairness (the default).
 */
import { ALLOCATOR_API_VERSION } from '../allocator.js';
import type { AllocatorPolicyPlugin } from '../sorter.js';
import { drfPolicy } from './drf-allocator.js';

export { DrfAllocator, drfPolicy } from './drf-allocator.js';
export { DrfSorter, type DrfSorterOptions } from './sorter.js';

/** The plugin object the loader finds under the name `drf`. */
export const plugin: AllocatorPolicyPlugin = {
  ...drfPolicy,
  version: ALLOCATOR_API_VERSION,
  galaxyApi: '^1',
};

export default plugin;
