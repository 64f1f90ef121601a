/**
 * Persistence of the master's machine registry and accounting ledger in the coordinator
 * (`/galaxy/tenancy/{pools,agents,labels,ledger}`, see docs/tenancy.md "Store"). A new leader
 * loads them before agents re-register, so pools, labels and modes apply again, and the ledger
 * goes on from what the previous leader flushed.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import { AGENTS_DIR, LABELS_DIR, LEDGER_DIR, POOLS_DIR, ledgerKey, ledgerUserDir } from '../../core/tenancy/keys.js';
import { joinKey } from '../../core/coordinator/keys.js';
import type { StoredRow } from '../accounting/ledger.js';
import type { AgentSetting, Machines, PoolRecord } from '../tenancy/machines.js';
import type { Accounting } from '../accounting/accounting.js';

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

/** The JSON value at `key`; a value that cannot be read is reported with its key and skipped, so the master still starts. */
async function readValue<T>(coordinator: Coordinator, key: string, log: Logger): Promise<T | undefined> {
  const stored = await coordinator.get(key);
  if (!stored) return undefined;
  try {
    return JSON.parse(stored.value) as T;
  } catch (error) {
    log.warn({ key, err: String(error) }, `stored value ${key} cannot be read; skipped`);
    return undefined;
  }
}

async function readAll<T>(coordinator: Coordinator, dir: string, log: Logger): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  for (const name of await coordinator.list(dir)) {
    const value = await readValue<T>(coordinator, joinKey(dir, name), log);
    if (value !== undefined) out.set(name, value);
  }
  return out;
}

/**
 * Loads the stored pools, agent settings, labels and ledger into `master` and keeps them stored
 * as they change. Call once, before `master.start()`.
 */
export async function attachTenancyState(
  master: { readonly machines: Machines; readonly accounting: Accounting },
  coordinator: Coordinator,
  log: Logger,
): Promise<void> {
  const pools = await readAll<PoolRecord>(coordinator, POOLS_DIR, log);
  const agents = await readAll<AgentSetting>(coordinator, AGENTS_DIR, log);
  const labels = await readAll<{ labels: string[] }>(coordinator, LABELS_DIR, log);
  master.machines.load({
    pools: [...pools.values()],
    agents,
    labels: new Map([...labels].map(([id, value]) => [id, value.labels])),
  });
  for (const user of await coordinator.list(LEDGER_DIR)) {
    for (const pool of await coordinator.list(ledgerUserDir(user))) {
      const row = await readValue<StoredRow>(coordinator, ledgerKey(user, pool), log);
      if (row) master.accounting.ledger.load(row);
    }
  }
  const write = serialWriter(coordinator, log);
  master.machines.attachSink(write);
  master.accounting.attachSink(write);
}
