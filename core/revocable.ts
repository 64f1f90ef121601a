/**
 * Revocable (reclaimed) resources, Mesos' oversubscription: cpus and mem that regular tasks were
 * allocated and do not use, offered again to frameworks that take them (docs/resources.md,
 * "Revocable resources"). What the agent, the master and the frameworks share about them.
 */
import { FrameworkCapability, type FrameworkInfo, type Resources } from '../proto/gen/galaxy/v1/common.js';
import { emptyResources } from './resources.js';

export { FrameworkCapability };

/**
 * Status reason of a task on revocable resources that its agent's QoS controller evicted because
 * the regular tasks needed them back (Mesos' REASON_RESOURCES_REVOKED): not a failure of the task.
 */
export const RESOURCES_REVOKED_REASON = 'resources-revoked';

/** True when the framework asked for revocable offers (capability REVOCABLE_RESOURCES). */
export function acceptsRevocable(info: Pick<FrameworkInfo, 'capabilities'>): boolean {
  return (info.capabilities?.values ?? []).includes(FrameworkCapability.REVOCABLE_RESOURCES);
}

/** The part of `resources` that can be revocable: cpus and mem (no disk, gpus or ports). */
export function revocableScalars(resources: Resources | undefined): Resources {
  return { ...emptyResources(), cpus: resources?.cpus ?? 0, mem: resources?.mem ?? 0 };
}
