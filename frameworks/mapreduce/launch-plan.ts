/**
 * Where the MapReduce framework places its tasks: a pure planner over one round of offers. Tasks
 * go round-robin over the offers, so that the tasks of a job spread over many agents; each takes
 * the job's per-task resources and one port (a map serves its partitions on it, a reduce its
 * output). A task lost on an agent goes elsewhere if any other offer fits (that agent may be cut
 * off), and a map only goes where the agent allows the read-only bind of its input.
 */
import { bindDenial } from '../../core/host-paths.js';
import { addResources, containsResources, emptyResources, subtractResources } from '../../core/resources.js';
import type { Offer, Resources } from '../../proto/gen/galaxy/v1/common.js';
import { lowestFree } from '../appmaster/placement/ports.js';
import { offerFits } from '../sdk/owner-roles.js';
import type { MapReduceRun, Slot } from './job.js';

/** A slot of a job waiting to run. */
export interface WantedSlot {
  readonly job: MapReduceRun;
  readonly slot: Slot;
}

/** One task to launch: its slot, on which offer, at which address, with what. */
export interface PlannedLaunch extends WantedSlot {
  /** Index of the offer in the round's offers. */
  readonly offer: number;
  readonly agentId: string;
  /** `host:port` the task serves on. */
  readonly address: string;
  readonly port: number;
  /** The job's per-task resources and the port. */
  readonly resources: Resources;
}

/**
 * Plans the launches of `wanted` on `offers` (nothing is changed): at most what each offer holds,
 * only on offers `ownerOf(job)`'s role may use. A slot that fits nowhere is left out.
 */
export function planLaunches(
  wanted: readonly WantedSlot[],
  offers: readonly Offer[],
  ownerOf: (job: MapReduceRun) => string,
): PlannedLaunch[] {
  const left = offers.map((o) => o.resources ?? emptyResources());
  const planned: PlannedLaunch[] = [];
  let next = 0;
  for (const { job, slot } of wanted) {
    const owner = ownerOf(job);
    for (let tried = 0; tried < 2 * offers.length; tried++) {
      const i = (next + tried) % offers.length;
      const offer = offers[i];
      const room = left[i];
      // The first round skips the agent the slot was lost on; the second takes any.
      if (!offer || !room || (tried < offers.length && offer.agentId === slot.lostOn)) continue;
      if (!offerFits(offer, owner)) continue;
      if (slot.kind === 'map' && bindDenial(job.spec.input, true, offer.allowedHostPaths) !== undefined) continue;
      const [port] = lowestFree(room.ports, 1, new Set());
      if (port === undefined) continue;
      const need: Resources = { ...(job.spec.resources ?? emptyResources()), ports: [] };
      const resources = addResources(need, { ...emptyResources(), ports: [{ begin: port, end: port }] });
      if (!containsResources(room, resources)) continue;
      left[i] = subtractResources(room, resources);
      planned.push({
        job,
        slot,
        offer: i,
        agentId: offer.agentId,
        address: `${offer.hostname}:${port}`,
        port,
        resources,
      });
      next = i + 1;
      break;
    }
  }
  return planned;
}
