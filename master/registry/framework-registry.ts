/**
 * The master's registry of frameworks: who owns each one and which roles it holds
 * (`/galaxy/frameworks/<id>`: `{ owner, roles, name, createdAt }`, docs/security.md). A framework's
 * owner is stored before its first SUBSCRIBED is sent, so that a re-SUBSCRIBE after a master
 * failover, or of a framework a re-registering agent named first, is checked against it.
 *
 * The elected master reads every record before it serves (checks are synchronous: they read the
 * in-memory copy) and writes through as frameworks come, change roles and go. A master without a
 * coordinator keeps the registry in memory only.
 */
import type { Coordinator } from '../../core/coordinator/coordinator.js';
import { joinKey } from '../../core/coordinator/keys.js';
import type { Logger } from '../../core/logger.js';

/** Parent of `/galaxy/frameworks/<id>`. */
export const FRAMEWORKS_DIR = '/galaxy/frameworks';

/** One framework as the registry keeps it. */
export interface StoredFramework {
  /** The user that first subscribed it. */
  readonly owner: string;
  readonly roles: readonly string[];
  readonly name: string;
  /** ms since epoch. */
  readonly createdAt: number;
}

/** Where the registry writes; a master without a coordinator has none. */
export interface RegistryBackend {
  put(id: string, record: StoredFramework): Promise<void>;
  delete(id: string): Promise<void>;
}

/** The frameworks the master has admitted, by id. */
export class FrameworkRegistry {
  private readonly records = new Map<string, StoredFramework>();

  constructor(private readonly backend?: RegistryBackend) {}

  /** Reads every stored framework (a record that is not JSON is reported and skipped). */
  static async load(coordinator: Coordinator, log: Logger): Promise<FrameworkRegistry> {
    const registry = new FrameworkRegistry({
      put: async (id, record) => {
        await coordinator.put(joinKey(FRAMEWORKS_DIR, id), JSON.stringify(record));
      },
      delete: (id) => coordinator.delete(joinKey(FRAMEWORKS_DIR, id)),
    });
    for (const id of await coordinator.list(FRAMEWORKS_DIR)) {
      const key = joinKey(FRAMEWORKS_DIR, id);
      const stored = await coordinator.get(key);
      const record = stored && parseRecord(stored.value);
      if (record) registry.records.set(id, record);
      else log.error({ key }, 'a stored framework record cannot be read; its framework has no known owner');
    }
    return registry;
  }

  /** The stored record of a framework. */
  get(id: string): StoredFramework | undefined {
    return this.records.get(id);
  }

  /** Stores a framework's record; resolves once it is durable (rejects, storing nothing, if it cannot be). */
  async put(id: string, record: StoredFramework): Promise<void> {
    await this.backend?.put(id, record);
    this.records.set(id, record);
  }

  /** Forgets a framework that was removed. */
  async remove(id: string): Promise<void> {
    this.records.delete(id);
    await this.backend?.delete(id);
  }
}

function parseRecord(value: string): StoredFramework | undefined {
  try {
    const record = JSON.parse(value) as Partial<StoredFramework>;
    if (typeof record.owner !== 'string' || !Array.isArray(record.roles)) return undefined;
    return {
      owner: record.owner,
      roles: record.roles.filter((r): r is string => typeof r === 'string'),
      name: typeof record.name === 'string' ? record.name : '',
      createdAt: typeof record.createdAt === 'number' ? record.createdAt : 0,
    };
  } catch {
    return undefined;
  }
}
