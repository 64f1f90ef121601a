/**
 * The ledger's integration on a fake clock: tasks of several users and pools start and stop,
 * cross minute boundaries, report usage; rows and the independently integrated cluster agree.
 */
import { describe, expect, it } from 'vitest';
import { BUCKET_MS, CLUSTER_USER, Ledger, type ResourceRate } from './ledger.js';

const GIB = 1024 ** 3;

/** A ledger whose cluster rate is kept by the test itself, as the master's agents would report it. */
function setup(start = 10 * BUCKET_MS) {
  let now = start;
  const held = new Map<string, { pool: string; rate: ResourceRate }>();
  const clusterRate = () => {
    const rates = new Map<string, ResourceRate>();
    for (const { pool, rate } of held.values()) {
      const r = rates.get(pool) ?? { cpus: 0, mem: 0, disk: 0 };
      rates.set(pool, { cpus: r.cpus + rate.cpus, mem: r.mem + rate.mem, disk: r.disk + rate.disk });
    }
    return rates;
  };
  const ledger = new Ledger(clusterRate, now);
  return {
    ledger,
    tick: (ms: number) => {
      now += ms;
    },
    now: () => now,
    start(key: string, user: string, pool: string, rate: ResourceRate) {
      held.set(key, { pool, rate });
      ledger.start(key, { user, pool, frameworkId: key.split('/')[0] ?? '', agentId: 'a1', rate }, now);
    },
    stop(key: string) {
      held.delete(key);
      ledger.stop(key, now);
    },
  };
}

describe('Ledger', () => {
  it('counts revocable tasks apart from allocated ones, through a store round trip', () => {
    const t = setup();
    const lent = { cpus: 2000, mem: 4 * GIB, disk: 0 };
    t.start('fw1/regular', 'alice', 'default', { cpus: 1000, mem: GIB, disk: 0 });
    // A task on revocable resources: lent capacity, which the cluster's allocated total leaves out too.
    t.ledger.start(
      'fw1/lent',
      { user: 'alice', pool: 'default', frameworkId: 'fw1', agentId: 'a1', rate: lent, revocable: true },
      t.now(),
    );
    t.tick(30_000);
    t.ledger.stop('fw1/lent', t.now());
    t.tick(30_000);
    const { rows, cluster } = t.ledger.query({ user: 'alice', pool: '', sinceMs: 0 }, t.now());
    expect(rows).toHaveLength(1);
    expect(rows[0]?.allocated).toEqual({ cpuMs: 1000 * 60, memBs: GIB * 60, diskBs: 0 });
    expect(rows[0]?.revocable).toEqual({ cpuMs: 2000 * 30, memBs: 4 * GIB * 30, diskBs: 0 });
    expect(cluster).toEqual({ cpuMs: 1000 * 60, memBs: GIB * 60, diskBs: 0 });
    // The stored row keeps the revocable part; a new leader loading it answers the same.
    t.ledger.advance(t.now());
    const stored = t.ledger.takeDirty().find((d) => d.value.user === 'alice');
    expect(stored).toBeDefined();
    const reloaded = new Ledger(() => new Map(), t.now());
    if (stored) reloaded.load(stored.value);
    const again = reloaded.query({ user: 'alice', pool: '', sinceMs: 0 }, t.now()).rows[0];
    expect(again?.allocated).toEqual(rows[0]?.allocated);
    expect(again?.revocable).toEqual(rows[0]?.revocable);
    // A row stored before revocable accounting (seven numbers per bucket) loads with nothing revocable.
    const old = new Ledger(() => new Map(), t.now());
    old.load({ user: 'bob', pool: 'default', bucketS: 60, buckets: [[600, 5000, 10, 0, 0, 0, 0]] });
    const bob = old.query({ user: 'bob', pool: '', sinceMs: 0 }, t.now()).rows[0];
    expect(bob?.allocated.cpuMs).toBe(5000);
    expect(bob?.revocable).toEqual({ cpuMs: 0, memBs: 0, diskBs: 0 });
  });

  it('integrates allocation per user and pool exactly between events', () => {
    const t = setup();
    t.start('fw1/a', 'alice', 'default', { cpus: 1000, mem: GIB, disk: 0 });
    t.tick(10_000);
    t.start('fw2/b', 'bob', 'batch', { cpus: 500, mem: 2 * GIB, disk: GIB });
    t.tick(20_000);
    t.stop('fw1/a');
    t.tick(30_000);
    const { rows, cluster } = t.ledger.query({ user: '', pool: '', sinceMs: 0 }, t.now());
    const alice = rows.find((r) => r.user === 'alice');
    const bob = rows.find((r) => r.user === 'bob');
    expect(alice?.allocated).toEqual({ cpuMs: 1000 * 30, memBs: GIB * 30, diskBs: 0 });
    expect(bob?.pool).toBe('batch');
    expect(bob?.allocated).toEqual({ cpuMs: 500 * 50, memBs: 2 * GIB * 50, diskBs: GIB * 50 });
    expect(cluster).toEqual({ cpuMs: 1000 * 30 + 500 * 50, memBs: GIB * 30 + 2 * GIB * 50, diskBs: GIB * 50 });
    // Filtering by pool filters the cluster total too.
    const batch = t.ledger.query({ user: '', pool: 'batch', sinceMs: 0 }, t.now());
    expect(batch.rows.map((r) => r.user)).toEqual(['bob']);
    expect(batch.cluster.cpuMs).toBe(500 * 50);
  });

  it('splits an interval at minute boundaries and counts only the buckets since', () => {
    const t = setup(10 * BUCKET_MS + 30_000);
    t.start('fw/a', 'alice', 'default', { cpus: 2000, mem: 0, disk: 0 });
    t.tick(90_000); // 30 s in minute 10, 60 s in minute 11
    const all = t.ledger.query({ user: 'alice', pool: '', sinceMs: 0 }, t.now());
    expect(all.rows[0]?.allocated.cpuMs).toBe(2000 * 90);
    const lastMinute = t.ledger.query({ user: 'alice', pool: '', sinceMs: 11 * BUCKET_MS + 5000 }, t.now());
    expect(lastMinute.fromMs).toBe(11 * BUCKET_MS);
    expect(lastMinute.rows[0]?.allocated.cpuMs).toBe(2000 * 60);
    expect(lastMinute.cluster.cpuMs).toBe(2000 * 60);
  });

  it('adds usage samples: cpu seconds as deltas, memory as bytes held over time', () => {
    const t = setup();
    t.start('fw/a', 'alice', 'default', { cpus: 1000, mem: GIB, disk: 0 });
    t.tick(10_000);
    t.ledger.recordUsage([{ key: 'fw/a', cpuSeconds: 4, memBytes: 100, diskBytes: 10 }], t.now());
    t.tick(10_000);
    t.ledger.recordUsage([{ key: 'fw/a', cpuSeconds: 9, memBytes: 300, diskBytes: 10 }], t.now());
    // A sample of a task the ledger does not hold changes nothing.
    t.ledger.recordUsage([{ key: 'fw/ghost', cpuSeconds: 100, memBytes: 1, diskBytes: 1 }], t.now());
    const used = t.ledger.query({ user: 'alice', pool: '', sinceMs: 0 }, t.now()).rows[0]?.used;
    expect(used).toEqual({ cpuMs: 9000, memBs: 100 * 10 + 300 * 10, diskBs: 10 * 20 });
  });

  it('stops every task of a framework at once, and the rows still match the cluster', () => {
    const t = setup();
    for (let i = 0; i < 5; i++)
      t.start(`fw${i % 2}/t${i}`, i % 2 ? 'bob' : 'alice', 'default', { cpus: 100 * (i + 1), mem: 0, disk: 0 });
    t.tick(7000);
    for (const key of ['fw0/t0', 'fw0/t2', 'fw0/t4']) t.stop(key);
    t.ledger.stopWhere((task) => task.frameworkId === 'fw0', t.now()); // nothing left of fw0: a no-op
    t.tick(5000);
    const { rows, cluster } = t.ledger.query({ user: '', pool: '', sinceMs: 0 }, t.now());
    const sum = rows.reduce((s, r) => s + r.allocated.cpuMs, 0);
    expect(sum).toBe(cluster.cpuMs);
    expect(rows.find((r) => r.user === 'alice')?.allocated.cpuMs).toBe((100 + 300 + 500) * 7);
  });

  it('persists dirty rows and loads them back into a new ledger', () => {
    const t = setup();
    t.start('fw/a', 'alice', 'default', { cpus: 1000, mem: GIB, disk: 0 });
    t.tick(30_000);
    t.ledger.advance(t.now());
    const written = t.ledger.takeDirty();
    expect(written.map((w) => w.key).sort()).toEqual([
      `/galaxy/tenancy/ledger/${CLUSTER_USER}/default`,
      '/galaxy/tenancy/ledger/alice/default',
    ]);
    expect(t.ledger.takeDirty()).toEqual([]);
    const copy = new Ledger(() => new Map(), t.now());
    for (const { value } of written) copy.load(JSON.parse(JSON.stringify(value)) as typeof value);
    const loaded = copy.query({ user: '', pool: '', sinceMs: 0 }, t.now());
    expect(loaded.rows[0]?.allocated.cpuMs).toBe(30_000);
    expect(loaded.cluster.cpuMs).toBe(30_000);
  });

  it('drops buckets past the retention', () => {
    let now = 100 * BUCKET_MS;
    const ledger = new Ledger(() => new Map(), now, 5 * BUCKET_MS);
    ledger.start(
      'fw/a',
      { user: 'alice', pool: 'default', frameworkId: 'fw', agentId: 'a', rate: { cpus: 1000, mem: 0, disk: 0 } },
      now,
    );
    now += 10 * BUCKET_MS;
    ledger.advance(now);
    ledger.prune(now);
    const total = ledger.query({ user: 'alice', pool: '', sinceMs: 0 }, now).rows[0]?.allocated.cpuMs ?? 0;
    expect(total).toBeGreaterThanOrEqual(1000 * 5 * 60);
    expect(total).toBeLessThanOrEqual(1000 * 6 * 60);
  });

  it('asks for the cluster rate of only the agents a change touched (a cell launches 100,000 tasks)', () => {
    const asked: (readonly string[] | undefined)[] = [];
    const ledger = new Ledger((agents) => {
      asked.push(agents);
      return new Map();
    }, 0);
    const rate = { cpus: 100, mem: 0, disk: 0 };
    ledger.start('fw/a', { user: 'u', pool: 'p', frameworkId: 'fw', agentId: 'a1', rate }, 1);
    ledger.start('fw/b', { user: 'u', pool: 'p', frameworkId: 'fw', agentId: 'a2', rate }, 2);
    ledger.start('gw/c', { user: 'u', pool: 'p', frameworkId: 'gw', agentId: 'a3', rate }, 3);
    ledger.stop('fw/a', 4);
    ledger.stop('fw/unknown', 5, 'a9');
    ledger.stopWhere((t) => t.frameworkId === 'fw', 6, ['a7']);
    ledger.remeasure();
    expect(asked).toEqual([undefined, ['a1'], ['a2'], ['a3'], ['a1'], ['a9'], ['a7', 'a2'], undefined]);
  });
});
