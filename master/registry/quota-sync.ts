/**
 * Keeps the allocator's quotas in step with the tenancy store: `quotas/<user>` becomes the
 * allocator quota of role `<user>` (docs/tenancy.md, Quotas): its `limit` (cpus, mem, disk and
 * disk per medium; an absent field is unlimited; `replicas` is for admission only) and its
 * `guarantee`.
 */
import type { Allocator, QuotaAmounts } from '../../allocators/allocator.js';
import type { Coordinator, Unwatch } from '../../core/coordinator/coordinator.js';
import type { Logger } from '../../core/logger.js';
import { QUOTAS_DIR, quotaKey } from '../../core/tenancy/keys.js';
import { GUARANTEE_RESOURCES } from '../../core/tenancy/quotas.js';

/** The stored quota of a user, as far as allocation reads it. */
interface StoredQuota {
  readonly limit?: QuotaAmounts & { readonly replicas?: number };
  readonly guarantee?: QuotaAmounts;
}

function scalarsOf(amounts: QuotaAmounts | undefined): QuotaAmounts | undefined {
  if (!amounts) return undefined;
  const named = GUARANTEE_RESOURCES.flatMap((r) => (amounts[r] === undefined ? [] : [[r, amounts[r]] as const]));
  return Object.fromEntries(named);
}

/**
 * Loads every stored quota into the allocator and watches for changes; `changed` is called after
 * each change (the master allocates again). Resolves with the function that stops watching.
 */
export async function syncQuotas(
  coordinator: Coordinator,
  allocator: Allocator,
  log: Logger,
  changed: () => void,
): Promise<Unwatch> {
  const apply = (user: string, value: string | undefined): void => {
    try {
      if (value === undefined) {
        allocator.removeQuota(user);
      } else {
        const stored = JSON.parse(value) as StoredQuota;
        const limit = scalarsOf(stored.limit);
        const guarantee = scalarsOf(stored.guarantee);
        allocator.setQuota(user, { ...(limit ? { limit } : {}), ...(guarantee ? { guarantee } : {}) });
      }
      changed();
    } catch (error) {
      log.error({ user, err: String(error) }, 'the stored quota cannot be applied to the allocator; ignoring it');
    }
  };
  const unwatch = coordinator.watch(QUOTAS_DIR, (change) => {
    const user = change.key.slice(QUOTAS_DIR.length + 1);
    if (user === '' || user.includes('/')) return;
    apply(user, change.value);
  });
  for (const user of await coordinator.list(QUOTAS_DIR)) {
    const stored = await coordinator.get(quotaKey(user));
    if (stored) apply(user, stored.value);
  }
  return unwatch;
}
