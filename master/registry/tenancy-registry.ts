/**
 * What an elected master reads from the tenancy store for allocation: quotas (kept in sync by
 * a watch) and the dynamic reservations of agents (re-applied as they register, and written
 * back as operators change them).
 */
import type { Unwatch } from '../../core/coordinator/coordinator.js';
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import { readJson } from '../../core/tenancy/cas.js';
import { RESERVATIONS_DIR, reservationsKey } from '../../core/tenancy/keys.js';
import type { Allocator } from '../../allocators/allocator.js';
import type { MasterContext } from '../context.js';
import { syncQuotas } from './quota-sync.js';
import type { ReservationBook, ReservationRecord } from '../tenancy/reservations.js';

/** Loads quotas and reservations into `master`; resolves with the function that stops the quota watch. */
export async function loadAllocationTenancy(
  coordinator: Coordinator,
  master: { readonly reservations: ReservationBook; readonly allocator: Allocator; readonly ctx: MasterContext },
  log: Logger,
): Promise<Unwatch> {
  master.reservations.persist = async (agentId, record) => {
    if (record === undefined) await coordinator.delete(reservationsKey(agentId));
    else await coordinator.put(reservationsKey(agentId), JSON.stringify(record));
  };
  for (const agentId of await coordinator.list(RESERVATIONS_DIR)) {
    try {
      const stored = await readJson(coordinator, reservationsKey(agentId));
      if (stored) master.reservations.load(agentId, stored.value as ReservationRecord);
    } catch (error) {
      log.error({ agent: agentId, err: String(error) }, 'stored reservations cannot be read; ignoring them');
    }
  }
  return syncQuotas(coordinator, master.allocator, log, () => {
    master.ctx.loop.trigger();
  });
}
