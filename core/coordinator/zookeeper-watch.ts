/**
 * A coordinator watch on ZooKeeper: a mirror of the subtree under a prefix, kept current with
 * ZooKeeper's one-shot watches. Every znode of the subtree carries a data watch and a child
 * watch; when one fires, the znode is read again (which re-arms it), new children are visited,
 * and what differs from the mirror is reported. The prefix itself carries an exists watch, so
 * that its creation is seen too.
 *
 * Events are handled one at a time, in the order ZooKeeper sent them, so changes are reported in
 * order per key. ZooKeeper's watches carry no data: a value written and overwritten before it
 * could be read is reported once, with the later value. Writes of the watching session itself
 * are never missed, since {@link ZkTreeWatch.idle} lets a write wait until its events are handled.
 */
import type { KeyChange } from './coordinator.js';
import { mapConcurrently } from '../concurrency.js';
import { joinKey } from './keys.js';
import { WatchHub } from './watch-hub.js';
import { isZk, ZK, type ZkSession, type ZkStat, type ZkWatcher } from './zookeeper-session.js';

/** How the coordinator maps keys to znode paths and reads values. */
export interface ZkLayout {
  toPath(key: string): string;
  toKey(path: string): string;
  /** The key's value in a znode's data, or `undefined` for a znode that only holds keys under it. */
  decode(key: string, data: Buffer | null): string | undefined;
}

const RETRY_MS = 200;
/** Reads of sibling znodes in flight at once. */
const CHILD_READS = 64;

/** The watch of one prefix. */
export class ZkTreeWatch {
  private readonly hub = new WatchHub();
  /** The keys with values reported so far, and the zxid of the write they were read at. */
  private readonly known = new Map<string, number>();
  /** Keys whose znodes are being tracked (they existed when last read). */
  private readonly tracked = new Set<string>();
  private readonly dataArmed = new Set<string>();
  private readonly childrenArmed = new Set<string>();
  private queue: Promise<void>;
  private stopped = false;
  private readonly onData: ZkWatcher = (type, _state, path) => {
    this.fired(this.dataArmed, type, path);
  };
  private readonly onChildren: ZkWatcher = (type, _state, path) => {
    this.fired(this.childrenArmed, type, path);
  };

  /** Starts watching `prefix`; what exists now is the baseline, not reported. */
  constructor(
    private readonly session: ZkSession,
    private readonly layout: ZkLayout,
    private readonly prefix: string,
    onChange: (change: KeyChange) => void,
  ) {
    this.hub.add(prefix, onChange);
    // Started at once, so that the first watch reaches ZooKeeper before any later write.
    this.queue = this.visit(prefix, true).catch(() => {
      this.retry(prefix);
    });
  }

  /** Resolves once every event received so far has been handled. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }

  /** Stops reporting. (ZooKeeper keeps the armed watches until they fire; they are then ignored.) */
  stop(): void {
    this.stopped = true;
    this.hub.clear();
  }

  private fired(armed: Set<string>, type: number, path: string): void {
    armed.delete(path);
    // Session events (type < 0) re-fire every watch; the session's own rule handles them.
    if (this.stopped || type < 0) return;
    const key = this.layout.toKey(path);
    this.enqueue(key);
  }

  private enqueue(key: string): void {
    this.queue = this.queue
      .then(() => this.visit(key, false))
      .catch(() => {
        this.retry(key);
      });
  }

  /** Visits `key` again a little later, unless the watch or the session is over. */
  private retry(key: string): void {
    if (this.stopped || this.session.ended.aborted) return;
    setTimeout(() => {
      if (!this.stopped && !this.session.ended.aborted) this.enqueue(key);
    }, RETRY_MS).unref();
  }

  /** Reads `key`'s znode (re-arming its watches), reports what changed, and visits new children. */
  private async visit(key: string, baseline: boolean): Promise<void> {
    if (this.stopped) return;
    const node = await this.read(key);
    if (node === undefined) {
      this.tracked.delete(key);
      this.report(key, undefined, 0, baseline);
      return;
    }
    this.tracked.add(key);
    this.report(key, this.layout.decode(key, node.data), node.stat.mzxid, baseline);
    const path = this.layout.toPath(key);
    let children: string[];
    try {
      children = this.childrenArmed.has(path)
        ? await this.session.call(`list ${key}`, (c) => c.get_children(path, false))
        : await this.session.call(`watch ${key}`, (c) => c.w_get_children(path, this.onChildren));
      this.childrenArmed.add(path);
    } catch (error) {
      if (isZk(error, ZK.NONODE)) return;
      throw error;
    }
    // Siblings are independent keys: their reads overlap (thousands of agent credentials under
    // one prefix would otherwise cost one round trip after another).
    const fresh = children.map((child) => joinKey(key, child)).filter((childKey) => !this.tracked.has(childKey));
    await mapConcurrently(fresh, CHILD_READS, (childKey) => this.visit(childKey, baseline));
  }

  /**
   * The znode at `key`, arming its data watch if it is not armed: an exists watch for the prefix
   * (it fires on creation too), a data watch for the znodes under it (their creation is seen
   * through their parent's child watch).
   */
  private async read(key: string): Promise<{ stat: ZkStat; data: Buffer | null } | undefined> {
    const path = this.layout.toPath(key);
    try {
      if (this.dataArmed.has(path)) {
        const [stat, data] = await this.session.call(`get ${key}`, (c) => c.get(path, false));
        return { stat, data };
      }
      if (key === this.prefix) {
        // The exists watch is set whether or not the znode exists.
        await this.session
          .call(`watch ${key}`, (c) => c.w_exists(path, this.onData))
          .catch((error: unknown) => {
            if (isZk(error, ZK.NONODE)) this.dataArmed.add(path);
            throw error;
          });
        this.dataArmed.add(path);
        const [stat, data] = await this.session.call(`get ${key}`, (c) => c.get(path, false));
        return { stat, data };
      }
      const [stat, data] = await this.session.call(`watch ${key}`, (c) => c.w_get(path, this.onData));
      this.dataArmed.add(path);
      return { stat, data };
    } catch (error) {
      if (isZk(error, ZK.NONODE)) return undefined;
      throw error;
    }
  }

  /** Reports `key`'s value if it differs from what was last reported (`undefined`: it has none). */
  private report(key: string, value: string | undefined, mzxid: number, baseline: boolean): void {
    const known = this.known.get(key);
    if (value === undefined) {
      if (known === undefined) return;
      this.known.delete(key);
    } else {
      if (known !== undefined && known >= mzxid) return;
      this.known.set(key, mzxid);
    }
    if (!baseline) this.hub.emit({ key, value });
  }
}
