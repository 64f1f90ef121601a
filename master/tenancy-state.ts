/**
 * Persistence of the master's machine registry and accounting ledger in the coordinator
 * (`/galaxy/tenancy/{pools,agents,labels,ledger}`, see docs/tenancy.md "Store"). A new leader
 * loads them before agents re-register, so pools, labels and modes apply again, and the ledger
 * goes on from what the previous leader flushed.
 */
import type { Coordinator } from '../core/coordinator/coordinator.js';
import type { Logger } from '../core/logger.js';
import { AGENTS_DIR, LABELS_DIR, LEDGER_DIR, POOLS_DIR, ledgerKey, ledgerUserDir } from '../core/tenancy/keys.js';
import { joinKey } from '../core/coordinator/keys.js';
import type { StoredRow } from './ledger.js';
import type { AgentSetting, PoolRecord } from './machines.js';
import type { Master } from './master.js';

/** Writes keys one after the other (so two writes of one key land in order); failures are logged. */
function serialWriter(coordinator: Coordinator, log: Logger): (key: string, value: unknown) => void {
  let chain = Promise.resolve();
  return (key, value) => {
    chain = chain
      .then(() =>
        value === undefined
          ? coordinator.delete(key)
          : coordinator.put(key, JSON.stringify(value)).then(() => undefined),
      )
      .catch((error: unknown) => {
        log.error({ key, err: String(error) }, 'tenancy state could not be stored');
      });
  };
}

async function readAll<T>(coordinator: Coordinator, dir: string): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const name of await coordinator.list(dir)) {
    const stored = await coordinator.get(joinKey(dir, name));
    if (stored) out.set(name, JSON.parse(stored.value) as T);
  }
  return out;
}

/**
 * Loads the stored pools, agent settings, labels and ledger into `master` and keeps them stored
 * as they change. Call once, before `master.start()`.
 */
export async function attachTenancyState(master: Master, coordinator: Coordinator, log: Logger): Promise<void> {
  const pools = await readAll<PoolRecord>(coordinator, POOLS_DIR);
  const agents = await readAll<AgentSetting>(coordinator, AGENTS_DIR);
  const labels = await readAll<{ labels: string[] }>(coordinator, LABELS_DIR);
  master.machines.load({
    pools: [...pools.values()],
    agents,
    labels: new Map([...labels].map(([id, value]) => [id, value.labels])),
  });
  for (const user of await coordinator.list(LEDGER_DIR)) {
    for (const pool of await coordinator.list(ledgerUserDir(user))) {
      const stored = await coordinator.get(ledgerKey(user, pool));
      if (stored) master.accounting.ledger.load(JSON.parse(stored.value) as StoredRow);
    }
  }
  const write = serialWriter(coordinator, log);
  master.machines.attachSink(write);
  master.accounting.attachSink(write);
}
