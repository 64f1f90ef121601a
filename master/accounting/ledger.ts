/**
 * The accounting ledger: resource-seconds per user and pool in one-minute buckets. Allocation is
 * integrated exactly, event by event: between two events every (user, pool) holds a constant
 * rate (the sum of its live tasks' resources), so {@link Ledger.advance} adds rate × elapsed time,
 * split at minute boundaries. The cluster's allocated total is integrated the same way but from a
 * rate the caller measures on its own (the agents' allocated totals), never from the rows, so the
 * two can be checked against each other. Usage measured by the isolators is added as samples
 * arrive. Pure and clock-driven: the caller passes `now` everywhere, which tests fake.
 */
import { ledgerKey } from '../../core/tenancy/keys.js';

/** Length of a bucket. */
export const BUCKET_MS = 60_000;

/** Resources integrated over time: cpu millicore-seconds, memory and disk byte-seconds. */
export interface ResourceSecondsTotals {
  cpuMs: number;
  memBs: number;
  diskBs: number;
}

/** A rate: cpu millicores, memory and disk bytes held. */
export interface ResourceRate {
  readonly cpus: number;
  readonly mem: number;
  readonly disk: number;
}

/** One minute of one (user, pool). */
interface Bucket {
  /** What regular tasks held. */
  readonly allocated: ResourceSecondsTotals;
  /** What revocable tasks held: lent capacity (docs/resources.md), kept apart so that it is not charged at regular rates. */
  readonly revocable: ResourceSecondsTotals;
  readonly used: ResourceSecondsTotals;
}

/** A live task the ledger integrates. */
interface LiveTask {
  readonly row: string;
  /** The key of the rate it adds to: its row's regular or revocable part ({@link rateKey}). */
  readonly rateKey: string;
  readonly frameworkId: string;
  readonly agentId: string;
  readonly rate: ResourceRate;
  readonly startedAt: number;
}

/** One usage measurement of a task (cumulative cpu seconds; memory and disk now). */
export interface UsageSample {
  readonly key: string;
  readonly cpuSeconds: number;
  readonly memBytes: number;
  readonly diskBytes: number;
}

/** A row of a query's answer. */
export interface LedgerRow {
  readonly user: string;
  readonly pool: string;
  /** Held by regular tasks. */
  readonly allocated: ResourceSecondsTotals;
  /** Held by revocable tasks (not in `allocated`). */
  readonly revocable: ResourceSecondsTotals;
  readonly used: ResourceSecondsTotals;
}

/**
 * What a (user, pool) node stores: `[bucketStartS, allocCpuMs, allocMemBs, allocDiskBs, usedCpuMs,
 * usedMemBs, usedDiskBs, revocableCpuMs, revocableMemBs, revocableDiskBs]` (rows written before
 * revocable accounting end after usedDiskBs: their revocable part is 0).
 */
export interface StoredRow {
  readonly user: string;
  readonly pool: string;
  readonly bucketS: number;
  readonly buckets: readonly (readonly number[])[];
}

/** The user of the cluster rows in the store (not a valid user name, so it cannot clash). */
export const CLUSTER_USER = '_cluster';

const zero = (): ResourceSecondsTotals => ({ cpuMs: 0, memBs: 0, diskBs: 0 });

function addInto(into: ResourceSecondsTotals, rate: ResourceRate, seconds: number): void {
  into.cpuMs += rate.cpus * seconds;
  into.memBs += rate.mem * seconds;
  into.diskBs += rate.disk * seconds;
}

function addTotals(a: ResourceSecondsTotals, b: ResourceSecondsTotals): ResourceSecondsTotals {
  return { cpuMs: a.cpuMs + b.cpuMs, memBs: a.memBs + b.memBs, diskBs: a.diskBs + b.diskBs };
}

/** Calls `fn(bucketStart, seconds)` for each minute the interval [from, to) touches. */
function spread(from: number, to: number, fn: (bucket: number, seconds: number) => void): void {
  let at = from;
  while (at < to) {
    const bucket = Math.floor(at / BUCKET_MS) * BUCKET_MS;
    const end = Math.min(to, bucket + BUCKET_MS);
    fn(bucket, (end - at) / 1000);
    at = end;
  }
}

const rowKey = (user: string, pool: string): string => `${user}\u0000${pool}`;

/** Marks the revocable part of a row among the rates (not a character a user or pool name has). */
const REVOCABLE = '\u0000revocable';

/** The key of a row's regular or revocable rate. */
const rateKey = (row: string, revocable: boolean): string => (revocable ? row + REVOCABLE : row);

/** Resource-seconds per user and pool. */
export class Ledger {
  private readonly live = new Map<string, LiveTask>();
  /** Rate of each row's regular and revocable part ({@link rateKey}): the sum of its live tasks. */
  private readonly rates = new Map<string, ResourceRate>();
  /** Live tasks per rate key. */
  private readonly counts = new Map<string, number>();
  private readonly rows = new Map<string, Map<number, Bucket>>();
  private readonly cluster = new Map<string, Map<number, ResourceSecondsTotals>>();
  private clusterRates = new Map<string, ResourceRate>();
  private readonly lastUsage = new Map<string, { cpuSeconds: number; at: number }>();
  private readonly dirty = new Set<string>();
  private lastTick: number;

  /**
   * @param clusterRate the cluster's allocated resources per pool now, measured independently of the rows
   * @param retentionMs buckets older than this are dropped
   */
  constructor(
    /**
     * With `agents`, only those agents changed since the last call (the answer is still the
     * whole cluster's); without, measure everything again.
     */
    private readonly clusterRate: (agents?: readonly string[]) => Map<string, ResourceRate>,
    now: number,
    private readonly retentionMs = 7 * 86_400_000,
  ) {
    this.lastTick = now;
    this.clusterRates = clusterRate();
  }

  /** Integrates every rate up to `now`. Call before any change of what is allocated. */
  advance(now: number): void {
    const from = this.lastTick;
    if (now <= from) return;
    this.lastTick = now;
    for (const [key, rate] of this.rates) {
      const revocable = key.endsWith(REVOCABLE);
      const row = revocable ? key.slice(0, -REVOCABLE.length) : key;
      const buckets = this.bucketsOf(row);
      spread(from, now, (bucket, seconds) => {
        const into = this.bucket(buckets, bucket);
        addInto(revocable ? into.revocable : into.allocated, rate, seconds);
      });
      this.dirty.add(row);
    }
    for (const [pool, rate] of this.clusterRates) {
      let buckets = this.cluster.get(pool);
      if (!buckets) this.cluster.set(pool, (buckets = new Map<number, ResourceSecondsTotals>()));
      const into = buckets;
      spread(from, now, (bucket, seconds) => {
        let totals = into.get(bucket);
        if (!totals) into.set(bucket, (totals = zero()));
        addInto(totals, rate, seconds);
      });
      this.dirty.add(rowKey(CLUSTER_USER, pool));
    }
  }

  /**
   * Re-reads the cluster's rate (after a change, once the caller's state reflects it): of
   * `agents` only when given (a launch or an end changes one agent; measuring every agent's
   * tasks on each was quadratic in a cell's tasks, issue 16), else of all.
   */
  remeasure(agents?: readonly string[]): void {
    this.clusterRates = this.clusterRate(agents);
  }

  /** True when the task is being integrated. */
  has(key: string): boolean {
    return this.live.has(key);
  }

  /**
   * A task started holding `rate` for `user` in `pool`; a `revocable` one counts in the row's
   * revocable part. Without `measure` the caller calls {@link remeasure} once it started all it
   * starts (an agent re-registering with its tasks: its tasks measured once, not once per task).
   */
  start(
    key: string,
    task: {
      user: string;
      pool: string;
      frameworkId: string;
      agentId: string;
      rate: ResourceRate;
      revocable?: boolean;
    },
    now: number,
    measure = true,
  ): void {
    this.advance(now);
    if (this.live.has(key)) return;
    const row = rowKey(task.user, task.pool);
    const part = rateKey(row, task.revocable === true);
    this.live.set(key, {
      row,
      rateKey: part,
      frameworkId: task.frameworkId,
      agentId: task.agentId,
      rate: task.rate,
      startedAt: now,
    });
    this.rates.set(part, sumRates(this.rates.get(part), task.rate, 1));
    this.counts.set(part, (this.counts.get(part) ?? 0) + 1);
    if (measure) this.remeasure([task.agentId]);
  }

  /** A task stopped holding its resources; `agentId` is its agent's when the caller knows it. */
  stop(key: string, now: number, agentId?: string): void {
    this.advance(now);
    const agent = this.live.get(key)?.agentId ?? agentId;
    this.release(key);
    this.remeasure(agent === undefined ? [] : [agent]);
  }

  /** Stops every live task matching `predicate` (a framework removed, an agent gone). */
  stopWhere(
    predicate: (task: { frameworkId: string; agentId: string }) => boolean,
    now: number,
    agents: readonly string[] = [],
  ): void {
    this.advance(now);
    const changed = new Set(agents);
    for (const [key, task] of [...this.live])
      if (predicate(task)) {
        changed.add(task.agentId);
        this.release(key);
      }
    this.remeasure([...changed]);
  }

  /**
   * Adds isolator measurements: cpu seconds since the task's previous sample (all of them on the
   * first), memory and disk bytes held since the previous sample (or the task's start).
   */
  recordUsage(samples: readonly UsageSample[], now: number): void {
    const bucket = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    for (const sample of samples) {
      const task = this.live.get(sample.key);
      if (!task) continue;
      const previous = this.lastUsage.get(sample.key);
      const cpuDelta = Math.max(0, sample.cpuSeconds - (previous?.cpuSeconds ?? 0));
      const seconds = Math.max(0, (now - (previous?.at ?? task.startedAt)) / 1000);
      this.lastUsage.set(sample.key, { cpuSeconds: Math.max(sample.cpuSeconds, previous?.cpuSeconds ?? 0), at: now });
      const used = this.bucket(this.bucketsOf(task.row), bucket).used;
      used.cpuMs += cpuDelta * 1000;
      used.memBs += sample.memBytes * seconds;
      used.diskBs += sample.diskBytes * seconds;
      this.dirty.add(task.row);
    }
  }

  /**
   * Totals since `sinceMs` (whole buckets: the bucket holding `sinceMs` counts entirely), per
   * row matching `user` and `pool` (empty = any), and the cluster's own total for those pools.
   */
  query(
    filter: { user: string; pool: string; sinceMs: number },
    now: number,
  ): { rows: LedgerRow[]; cluster: ResourceSecondsTotals; fromMs: number } {
    this.advance(now);
    const from = Math.floor(filter.sinceMs / BUCKET_MS) * BUCKET_MS;
    const rows: LedgerRow[] = [];
    for (const [key, buckets] of this.rows) {
      const [user = '', pool = ''] = key.split('\u0000');
      if ((filter.user !== '' && user !== filter.user) || (filter.pool !== '' && pool !== filter.pool)) continue;
      let allocated = zero();
      let revocable = zero();
      let used = zero();
      for (const [start, bucket] of buckets) {
        if (start < from) continue;
        allocated = addTotals(allocated, bucket.allocated);
        revocable = addTotals(revocable, bucket.revocable);
        used = addTotals(used, bucket.used);
      }
      rows.push({ user, pool, allocated, revocable, used });
    }
    rows.sort((a, b) => a.user.localeCompare(b.user) || a.pool.localeCompare(b.pool));
    let cluster = zero();
    for (const [pool, buckets] of this.cluster) {
      if (filter.pool !== '' && pool !== filter.pool) continue;
      for (const [start, totals] of buckets) if (start >= from) cluster = addTotals(cluster, totals);
    }
    return { rows, cluster, fromMs: from };
  }

  /** Drops buckets past the retention. */
  prune(now: number): void {
    const oldest = now - this.retentionMs;
    for (const [key, buckets] of this.rows)
      for (const start of [...buckets.keys()])
        if (start + BUCKET_MS < oldest) {
          buckets.delete(start);
          this.dirty.add(key);
        }
    for (const [pool, buckets] of this.cluster)
      for (const start of [...buckets.keys()])
        if (start + BUCKET_MS < oldest) {
          buckets.delete(start);
          this.dirty.add(rowKey(CLUSTER_USER, pool));
        }
  }

  /** The rows changed since the last call, as store keys and values; clears the dirty marks. */
  takeDirty(): { key: string; value: StoredRow }[] {
    const out: { key: string; value: StoredRow }[] = [];
    for (const row of this.dirty) {
      const [user = '', pool = ''] = row.split('\u0000');
      out.push({ key: ledgerKey(user, pool), value: this.stored(user, pool) });
    }
    this.dirty.clear();
    return out;
  }

  /** Loads a stored row (a new leader). Buckets already present are added to. */
  load(stored: StoredRow): void {
    for (const [startS = 0, ...values] of stored.buckets) {
      const start = startS * 1000;
      const [aCpu = 0, aMem = 0, aDisk = 0, uCpu = 0, uMem = 0, uDisk = 0, rCpu = 0, rMem = 0, rDisk = 0] = values;
      if (stored.user === CLUSTER_USER) {
        let buckets = this.cluster.get(stored.pool);
        if (!buckets) this.cluster.set(stored.pool, (buckets = new Map<number, ResourceSecondsTotals>()));
        const totals = buckets.get(start) ?? zero();
        buckets.set(start, addTotals(totals, { cpuMs: aCpu, memBs: aMem, diskBs: aDisk }));
        continue;
      }
      const bucket = this.bucket(this.bucketsOf(rowKey(stored.user, stored.pool)), start);
      Object.assign(bucket.allocated, addTotals(bucket.allocated, { cpuMs: aCpu, memBs: aMem, diskBs: aDisk }));
      Object.assign(bucket.used, addTotals(bucket.used, { cpuMs: uCpu, memBs: uMem, diskBs: uDisk }));
      Object.assign(bucket.revocable, addTotals(bucket.revocable, { cpuMs: rCpu, memBs: rMem, diskBs: rDisk }));
    }
  }

  private stored(user: string, pool: string): StoredRow {
    const round = (n: number): number => Math.round(n);
    let buckets: number[][];
    if (user === CLUSTER_USER) {
      buckets = [...(this.cluster.get(pool) ?? new Map<number, ResourceSecondsTotals>())].map(([start, t]) => [
        start / 1000,
        round(t.cpuMs),
        round(t.memBs),
        round(t.diskBs),
      ]);
    } else {
      buckets = [...(this.rows.get(rowKey(user, pool)) ?? new Map<number, Bucket>())].map(([start, b]) => [
        start / 1000,
        round(b.allocated.cpuMs),
        round(b.allocated.memBs),
        round(b.allocated.diskBs),
        round(b.used.cpuMs),
        round(b.used.memBs),
        round(b.used.diskBs),
        round(b.revocable.cpuMs),
        round(b.revocable.memBs),
        round(b.revocable.diskBs),
      ]);
    }
    return { user, pool, bucketS: BUCKET_MS / 1000, buckets };
  }

  private release(key: string): void {
    const task = this.live.get(key);
    if (!task) return;
    this.live.delete(key);
    this.lastUsage.delete(key);
    const left = (this.counts.get(task.rateKey) ?? 1) - 1;
    if (left > 0) {
      this.counts.set(task.rateKey, left);
      this.rates.set(task.rateKey, sumRates(this.rates.get(task.rateKey), task.rate, -1));
    } else {
      // The last task: exactly zero, no floating remainder.
      this.counts.delete(task.rateKey);
      this.rates.delete(task.rateKey);
    }
  }

  private bucketsOf(row: string): Map<number, Bucket> {
    let buckets = this.rows.get(row);
    if (!buckets) this.rows.set(row, (buckets = new Map<number, Bucket>()));
    return buckets;
  }

  private bucket(buckets: Map<number, Bucket>, start: number): Bucket {
    let bucket = buckets.get(start);
    if (!bucket) buckets.set(start, (bucket = { allocated: zero(), revocable: zero(), used: zero() }));
    return bucket;
  }
}

function sumRates(base: ResourceRate | undefined, add: ResourceRate, sign: 1 | -1): ResourceRate {
  return {
    cpus: (base?.cpus ?? 0) + sign * add.cpus,
    mem: (base?.mem ?? 0) + sign * add.mem,
    disk: (base?.disk ?? 0) + sign * add.disk,
  };
}
