/**
 * Quotas and admission (`docs/tenancy.md`, Quotas). An admin sets a user's `limit` (and an
 * optional `guarantee`, which the allocator reads) under `quotas/<user>`; an absent field is
 * unlimited, and a user without a record is unlimited.
 *
 * What admitted jobs hold is kept as **claims** under `claims/<user>`:
 * `{ "<framework>/<job>": { cpus, mem, disk, ssd, hdd, tmpfs, replicas, pool } }` (`ssd`, `hdd`
 * and `tmpfs` are the bytes of the job's disk volumes of that medium, which `disk` counts too;
 * claims written before they existed lack them and hold none). A framework calls
 * {@link QuotaStore.admit} before it changes anything for a submit, scale or update: the claim is
 * written with compare-and-set only if the user's other claims plus this one stay within the
 * limit, so two frameworks admitting at once never take a user past it.
 */
import type { Coordinator } from '../coordinator/coordinator.js';
import { GalaxyError } from '../errors.js';
import { DISK_MEDIA } from '../disks.js';
import { formatBytes } from '../resources.js';
import { readJson, updateJson } from './cas.js';
import { checkUserName } from './users.js';
import { CLAIMS_DIR, QUOTAS_DIR, claimsKey, quotaKey } from './keys.js';

/**
 * The resources a quota counts: cpus in millicores; mem and disk in bytes; ssd, hdd and tmpfs in
 * bytes of disk volumes of that medium (docs/disks.md); replicas in pods/tasks.
 */
export const QUOTA_RESOURCES = ['cpus', 'mem', 'disk', ...DISK_MEDIA, 'replicas'] as const;

/** One of {@link QUOTA_RESOURCES}. */
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

/** A limit: an absent field is unlimited. */
export type QuotaLimit = Partial<Record<QuotaResource, number>>;

/** The resources a guarantee (read by the allocator) can name: all but replicas. */
export const GUARANTEE_RESOURCES = ['cpus', 'mem', 'disk', ...DISK_MEDIA] as const;

/** A guarantee: an absent field is none. */
export type QuotaGuarantee = Partial<Record<(typeof GUARANTEE_RESOURCES)[number], number>>;

/** `quotas/<user>`. */
export interface QuotaRecord {
  limit: QuotaLimit;
  guarantee?: QuotaGuarantee;
}

/** What one admitted job holds. */
export interface Footprint {
  cpus: number;
  mem: number;
  disk: number;
  /** Bytes of disk volumes per medium; absent is none. */
  ssd?: number;
  hdd?: number;
  tmpfs?: number;
  replicas: number;
  pool: string;
}

/** `claims/<user>`: claim key (`<framework>/<job>`) → footprint. */
export type Claims = Record<string, Footprint>;

/** Totals of claims. */
export type Usage = Record<QuotaResource, number>;

/** A user's quota as shown: limit, guarantee and what claims hold now. */
export interface QuotaView {
  readonly user: string;
  readonly limit: QuotaLimit;
  readonly guarantee: QuotaGuarantee;
  readonly used: Usage;
  readonly claims: Claims;
}

/** A quantity of `resource` as people read it: cores, GiB, a count. */
export function formatQuantity(resource: QuotaResource, value: number): string {
  if (resource === 'cpus') {
    const cores = Number((value / 1000).toFixed(3));
    return `${cores} ${cores === 1 ? 'core' : 'cores'}`;
  }
  if (resource !== 'replicas') return formatBytes(value);
  return String(value);
}

/** The sum of `claims`, leaving out `except`. */
export function sumClaims(claims: Claims, except?: string): Usage {
  const used = Object.fromEntries(QUOTA_RESOURCES.map((r) => [r, 0])) as Usage;
  for (const [key, claim] of Object.entries(claims)) {
    if (key === except) continue;
    for (const r of QUOTA_RESOURCES) used[r] += claim[r] ?? 0;
  }
  return used;
}

/**
 * The resources over `limit` if `used` grows by `requested`, each described with its numbers. A
 * resource the claim does not grow beyond `previous` is never over: shrinking a job (or keeping
 * it) is always admitted, even when a lowered limit is already passed.
 */
export function overLimit(limit: QuotaLimit, used: Usage, requested: Footprint, previous?: Footprint): string[] {
  const over: string[] = [];
  for (const r of QUOTA_RESOURCES) {
    const max = limit[r];
    const wanted = requested[r] ?? 0;
    if (max === undefined || used[r] + wanted <= max) continue;
    if (previous !== undefined && wanted <= (previous[r] ?? 0)) continue;
    const f = (v: number) => formatQuantity(r, v);
    over.push(`${r} requested ${f(wanted)}, used ${f(used[r])}, limit ${f(max)}`);
  }
  return over;
}

function checkAmounts(amounts: Record<string, number | undefined>, allowed: readonly string[], what: string): void {
  for (const [name, value] of Object.entries(amounts)) {
    if (!allowed.includes(name))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `${what} has no resource "${name}"; use ${allowed.join(', ')}`,
      );
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0))
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${what}.${name} must be a whole number ≥ 0, got ${value}`);
  }
}

function checkFootprint(footprint: Footprint): void {
  checkAmounts({ ...footprint, pool: undefined }, [...QUOTA_RESOURCES, 'pool'], 'footprint');
}

/** Sets quotas and admits claims against them. */
export class QuotaStore {
  constructor(private readonly coordinator: Coordinator) {}

  /** Replaces `user`'s quota. Fields left out are unlimited (limit) or none (guarantee). */
  async set(user: string, quota: QuotaRecord): Promise<QuotaRecord> {
    checkUserName(user);
    checkAmounts(quota.limit, QUOTA_RESOURCES, 'limit');
    checkAmounts(quota.guarantee ?? {}, GUARANTEE_RESOURCES, 'guarantee');
    const strip = <T extends object>(o: T): T =>
      Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
    for (const r of GUARANTEE_RESOURCES) {
      const g = quota.guarantee?.[r];
      const l = quota.limit[r];
      if (g !== undefined && l !== undefined && g > l)
        throw new GalaxyError(
          'GALAXY_E_INVALID_ARGUMENT',
          `the guarantee of ${r} (${formatQuantity(r, g)}) is above its limit (${formatQuantity(r, l)})`,
        );
    }
    const record: QuotaRecord = {
      limit: strip(quota.limit),
      ...(quota.guarantee ? { guarantee: strip(quota.guarantee) } : {}),
    };
    await this.coordinator.put(quotaKey(user), JSON.stringify(record));
    return record;
  }

  /** `user`'s quota, or undefined (unlimited). */
  async get(user: string): Promise<QuotaRecord | undefined> {
    checkUserName(user);
    return (await readJson(this.coordinator, quotaKey(user)))?.value as QuotaRecord | undefined;
  }

  /** Removes `user`'s quota (unlimited again). */
  async clear(user: string): Promise<void> {
    checkUserName(user);
    await this.coordinator.delete(quotaKey(user));
  }

  /** What `user`'s admitted jobs hold. */
  async claims(user: string): Promise<Claims> {
    checkUserName(user);
    return ((await readJson(this.coordinator, claimsKey(user)))?.value as Claims | undefined) ?? {};
  }

  /** Limit, guarantee and use of `user`. */
  async show(user: string): Promise<QuotaView> {
    const [quota, claims] = await Promise.all([this.get(user), this.claims(user)]);
    return { user, limit: quota?.limit ?? {}, guarantee: quota?.guarantee ?? {}, used: sumClaims(claims), claims };
  }

  /** Every user with a quota or a claim, by name. */
  async list(): Promise<QuotaView[]> {
    const users = new Set([...(await this.coordinator.list(QUOTAS_DIR)), ...(await this.coordinator.list(CLAIMS_DIR))]);
    return Promise.all([...users].sort().map((user) => this.show(user)));
  }

  /**
   * Admits `footprint` as `user`'s claim `claimKey` (replacing the claim's earlier footprint):
   * rejects with GALAXY_E_QUOTA_EXCEEDED, writing nothing, when the user's other claims plus this
   * footprint would pass the limit; the message gives requested, used and limit of every resource
   * over it. A claim that does not grow is always admitted.
   */
  async admit(user: string, claimKey: string, footprint: Footprint): Promise<void> {
    checkUserName(user);
    checkFootprint(footprint);
    const quota = await this.get(user);
    await updateJson<Claims>(this.coordinator, claimsKey(user), (current) => {
      const claims = current ?? {};
      const over = quota ? overLimit(quota.limit, sumClaims(claims, claimKey), footprint, claims[claimKey]) : [];
      if (over.length > 0)
        throw new GalaxyError(
          'GALAXY_E_QUOTA_EXCEEDED',
          `quota exceeded for user ${user}: ${over.join('; ')} (free some, or ask an admin: galaxy quota set ${user} …)`,
        );
      return { ...claims, [claimKey]: { ...footprint } };
    });
  }

  /**
   * Applies several claim changes of `user` in one compare-and-set write, in order: a footprint
   * admits (as {@link admit}, checked against the limit with the changes before it), none releases
   * (as {@link release}). A change refused (over the limit, a malformed footprint) is left out
   * alone: its error is its place in the result, and the others are written. What a framework
   * does with a burst of submits: one write for all of them instead of one each.
   */
  async applyClaims(
    user: string,
    changes: readonly { readonly claimKey: string; readonly footprint?: Footprint }[],
  ): Promise<(Error | undefined)[]> {
    checkUserName(user);
    const quota = await this.get(user);
    let outcomes: (Error | undefined)[] = [];
    await updateJson<Claims>(this.coordinator, claimsKey(user), (current) => {
      const claims = new Map(Object.entries(current ?? {}));
      outcomes = changes.map(({ claimKey, footprint }) => {
        if (footprint === undefined) {
          claims.delete(claimKey);
          return undefined;
        }
        try {
          checkFootprint(footprint);
        } catch (error) {
          return error as Error;
        }
        const now = Object.fromEntries(claims);
        const over = quota ? overLimit(quota.limit, sumClaims(now, claimKey), footprint, now[claimKey]) : [];
        if (over.length > 0)
          return new GalaxyError(
            'GALAXY_E_QUOTA_EXCEEDED',
            `quota exceeded for user ${user}: ${over.join('; ')} (free some, or ask an admin: galaxy quota set ${user} …)`,
          );
        claims.set(claimKey, { ...footprint });
        return undefined;
      });
      return claims.size === 0 ? undefined : Object.fromEntries(claims);
    });
    return outcomes;
  }

  /** Drops `user`'s claim `claimKey` (nothing happens when there is none). */
  async release(user: string, claimKey: string): Promise<void> {
    checkUserName(user);
    await updateJson<Claims>(this.coordinator, claimsKey(user), (current) => {
      if (!current || !(claimKey in current)) return current;
      const rest = Object.fromEntries(Object.entries(current).filter(([key]) => key !== claimKey));
      return Object.keys(rest).length === 0 ? undefined : rest;
    });
  }
}
