/**
 * The `first-fit` allocator plugin: round-robin, no fairness.
 */
import { ALLOCATOR_API_VERSION, type AllocatorPlugin } from '../allocator.js';
import { FirstFitAllocator } from './first-fit-allocator.js';

export { FirstFitAllocator } from './first-fit-allocator.js';

/** The plugin object the loader finds under the name `first-fit`. */
export const plugin: AllocatorPlugin = {
  name: 'first-fit',
  version: ALLOCATOR_API_VERSION,
  galaxyApi: '^1',
  create: (options) => new FirstFitAllocator(options),
};

export default plugin;
