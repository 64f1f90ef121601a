/**
 * The `round-robin` allocation policy (also loaded as `first-fit`, its former name).
 */
import { builtinMeta } from '../../core/plugin-loader.js';
import { ALLOCATOR_API_VERSION } from '../allocator.js';
import type { AllocatorPolicyPlugin } from '../sorter.js';
import { roundRobinPolicy } from './round-robin-sorter.js';

export { RoundRobinSorter, roundRobinPolicy } from './round-robin-sorter.js';

/** The plugin object the loader finds under the name `round-robin`. */
export const plugin: AllocatorPolicyPlugin = {
  ...roundRobinPolicy,
  ...builtinMeta('allocator', 'round-robin', ALLOCATOR_API_VERSION),
};

export default plugin;
