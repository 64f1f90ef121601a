/**
 * The `drf` allocator plugin: hierarchical weighted Dominant Resource Fairness (the default).
 */
import { ALLOCATOR_API_VERSION, type AllocatorPlugin } from '../allocator.js';
import { DrfAllocator } from './drf-allocator.js';

export { DrfAllocator } from './drf-allocator.js';
export { DrfSorter, type DrfSorterOptions } from './sorter.js';
export { TenancyWalk } from './tenancy.js';

/** The plugin object the loader finds under the name `drf`. */
export const plugin: AllocatorPlugin = {
  name: 'drf',
  version: ALLOCATOR_API_VERSION,
  galaxyApi: '^1',
  create: (options) => new DrfAllocator(options),
};

export default plugin;
