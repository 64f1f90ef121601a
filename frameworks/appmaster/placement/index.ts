/**
 * Pod placement for the AppMaster: which held offer each pending pod goes into, with what ports,
 * and why the others wait.
 */
export { placePods, type Assignment, type Placement, type PlacementContext, type PodDemand } from './place.js';
export { NO_OFFERS, type PendingReason } from './pending.js';
export { podLimits, podResources, podVolumes } from './resources.js';
