/**
 * Galaxy's default allocator: the hierarchical allocator ordered by weighted Dominant Resource
 * Fairness (Mesos' default). Two levels of {@link DrfSorter}, as in Mesos: one over roles
 * (hierarchical, weighted), and one per role over its frameworks (flat, unweighted).
 */
import type { AllocatorOptions } from '../allocator.js';
import { HierarchicalAllocator } from '../hierarchical/hierarchical-allocator.js';
import type { AllocatorPolicy } from '../sorter.js';
import { DrfSorter } from './sorter.js';

/** The DRF policy: hierarchical weighted DRF over roles, flat DRF over a role's frameworks. */
export const drfPolicy: AllocatorPolicy = {
  name: 'drf',
  createSorter: (level) => new DrfSorter({ hierarchical: level === 'roles' }),
};

/** The hierarchical allocator with the DRF policy. */
export class DrfAllocator extends HierarchicalAllocator {
  constructor(options: AllocatorOptions = {}) {
    super(drfPolicy, options);
  }
}
