/**
 * Read-modify-write of one JSON key with compare-and-set: the tenancy records (grants, quotas,
 * claims) are small documents several processes may change at once, so every change re-reads,
 * applies, and writes only if nobody wrote in between, retrying when somebody did.
 */
import type { Coordinator } from '../coordinator/coordinator.js';
import { GalaxyError, isGalaxyError } from '../errors.js';

/** How many times a lost compare-and-set is retried before giving up. */
const MAX_ATTEMPTS = 100;

/** The JSON value of `key`, or undefined; a value that is not JSON is a coded error naming the key. */
export async function readJson(
  coordinator: Coordinator,
  key: string,
): Promise<{ value: unknown; version: number } | undefined> {
  const stored = await coordinator.get(key);
  if (!stored) return undefined;
  try {
    return { value: JSON.parse(stored.value) as unknown, version: stored.version };
  } catch (error) {
    throw new GalaxyError('GALAXY_E_INTERNAL', `coordinator key ${key} does not hold JSON`, { cause: error });
  }
}

/**
 * Applies `change` to the current value of `key` (undefined when absent) and writes its result
 * with compare-and-set; `undefined` from `change` deletes the key. A thrown error aborts and
 * changes nothing. Resolves with what was written.
 */
export async function updateJson<T>(
  coordinator: Coordinator,
  key: string,
  change: (current: T | undefined) => T | undefined,
): Promise<T | undefined> {
  for (let attempt = 1; ; attempt += 1) {
    const current = await readJson(coordinator, key);
    const next = change(current?.value as T | undefined);
    try {
      if (next === undefined) {
        if (current) await coordinator.delete(key, { expectedVersion: current.version });
      } else {
        await coordinator.put(key, JSON.stringify(next), { expectedVersion: current?.version ?? -1 });
      }
      return next;
    } catch (error) {
      if (!isGalaxyError(error, 'GALAXY_E_COORD_CONFLICT') || attempt >= MAX_ATTEMPTS) throw error;
      // Someone else wrote first: jitter a little so contenders do not collide again in lock step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, attempt * 2)));
    }
  }
}
