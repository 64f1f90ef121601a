/**
 * The local coordinator, Galaxy's embedded default: keys are files under a directory (see
 * {@link FileTree}), every write is atomic and made under a lock file, so compare-and-set is safe
 * across processes on one host. Ephemeral keys name their owner session; a key whose owner
 * process is dead counts as absent and is removed by whoever meets it. Watches are immediate for
 * sessions in this process and polled (every 250 ms) for changes made by other processes: a poll
 * reads the change journal (local-journal.ts) and only the records it names, so its cost follows
 * the writes, not the number of keys watched. The writes a process queues while its previous
 * ones hold the lock are committed together (local-batch.ts), and processes take turns for the
 * lock (lock-queue.ts).
 *
 * All processes sharing a directory must share a pid namespace, since liveness is judged by pid.
 */
import { resolve } from 'node:path';
import type { Coordinator, KeyChange, Leadership, Unwatch, Versioned } from './coordinator.js';
import { elect, leaderOf } from './election.js';
import { GroupCommit, type BatchTx, type StagedChange } from './local-batch.js';
import { checkKey, checkPrefix, isUnder, joinKey } from './keys.js';
import { FileTree, isLive, type StoredRecord } from './local-tree.js';
import type { JournalCursor } from './local-journal.js';
import { isOwnerAlive, newOwner, type Owner } from './owner.js';
import { checkExpected, closedError, nextVersion, ownedError, checkValueSize } from './versions.js';
import { WatchHub } from './watch-hub.js';

/** How often watches look for changes made by other processes. */
export const LOCAL_POLL_MS = 250;

/** What a watch last reported of a key: its stamp, and its version when it exists. */
interface Known {
  readonly stamp: number;
  readonly version: number | undefined;
}

/** Sessions of this process, by directory: they hear each other's changes at once. */
const sessions = new Map<string, Set<LocalCoordinator>>();
/** This process's queue of writes, by directory: the sessions' writes are committed together. */
const commits = new Map<string, GroupCommit>();

/** One session on a local coordinator directory. */
export class LocalCoordinator implements Coordinator {
  readonly description: string;
  private readonly tree: FileTree;
  private readonly owner = newOwner();
  private commits!: GroupCommit;
  private readonly ended = new AbortController();
  private readonly hub = new WatchHub();
  private readonly known = new Map<string, Known>();
  private readonly ephemerals = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private pollAgain = false;
  /**
   * Prefixes watched since the last scan, with the stamp when their watch started: their first
   * scan records what is older as a baseline and reports what was written since.
   */
  private readonly priming = new Map<string, number>();
  /** How far the polls have read the change journal. */
  private cursor: JournalCursor | undefined;
  /** Ephemeral keys under the watched prefixes, by owner, whose death no write announces. */
  private readonly watchedEphemerals = new Map<string, Owner>();
  private fullScans = 0;
  private journalReads = 0;

  private constructor(dir: string) {
    this.description = `local:${dir}`;
    this.tree = new FileTree(dir);
  }

  /** Opens a session on `dir`, creating the directory if needed. */
  static async open(dir: string): Promise<LocalCoordinator> {
    const coordinator = new LocalCoordinator(resolve(dir));
    await coordinator.tree.init();
    const root = coordinator.tree.dir;
    coordinator.commits = commits.get(root) ?? new GroupCommit(coordinator.tree, newOwner());
    commits.set(root, coordinator.commits);
    const peers = sessions.get(coordinator.tree.dir) ?? new Set();
    peers.add(coordinator);
    sessions.set(coordinator.tree.dir, peers);
    return coordinator;
  }

  async get(key: string): Promise<Versioned | undefined> {
    this.enter(key);
    const record = await this.liveRecord(key);
    return record === undefined ? undefined : { value: record.value, version: record.version };
  }

  async put(key: string, value: string, options: { expectedVersion?: number } = {}): Promise<number> {
    this.enter(key);
    checkValueSize(key, value);
    return this.locked(async (tx) => {
      const current = await this.liveRecord(key, tx);
      checkExpected(key, current, options.expectedVersion);
      const record = this.record(value, nextVersion(current), tx.stamp, current?.owner);
      tx.write(key, record);
      return { result: record.version, changes: [{ key, record }] };
    });
  }

  async putEphemeral(key: string, value: string): Promise<void> {
    this.enter(key);
    checkValueSize(key, value);
    await this.locked(async (tx) => {
      const current = await this.liveRecord(key, tx);
      if (current !== undefined && current.owner?.session !== this.owner.session) throw ownedError(key);
      const record = this.record(value, nextVersion(current), tx.stamp, this.owner);
      tx.write(key, record);
      this.ephemerals.add(key);
      return { result: undefined, changes: [{ key, record }] };
    });
  }

  async delete(key: string, options: { expectedVersion?: number; recursive?: boolean } = {}): Promise<void> {
    const recursive = options.recursive === true;
    this.enter(key, recursive);
    if (!recursive) {
      await this.locked(async (tx) => {
        const current = await this.liveRecord(key, tx);
        checkExpected(key, current, options.expectedVersion);
        if (current === undefined) return { result: undefined, changes: [] };
        tx.remove(key);
        return { result: undefined, changes: [{ key, record: undefined }] };
      });
      return;
    }
    // A whole subtree goes alone: its files are removed directly, not staged key by key.
    await this.lockedAlone(async (tree) => {
      const current = await tree.read(key);
      checkExpected(key, current !== undefined && isLive(current) ? current : undefined, options.expectedVersion);
      const removed = [...(await tree.scan(key)).keys()];
      if (removed.length === 0) return { result: undefined, changes: [], stamp: 0 };
      const stamp = await tree.commit(removed, () => tree.removeTree(key));
      return { result: undefined, changes: removed.map((k) => ({ key: k, record: undefined })), stamp };
    });
  }

  async list(prefix: string): Promise<string[]> {
    this.enter(prefix, true);
    const names: string[] = [];
    for (const child of await this.tree.children(prefix)) {
      if (child.hasChildren || (await this.liveRecord(joinKey(prefix, child.name))) !== undefined)
        names.push(child.name);
    }
    return names.sort();
  }

  watch(prefix: string, onChange: (change: KeyChange) => void): Unwatch {
    this.enter(prefix, true);
    const unwatch = this.hub.add(prefix, onChange);
    if (!this.priming.has(prefix)) this.priming.set(prefix, this.tree.stampNow());
    void this.poll();
    this.timer ??= setInterval(() => void this.poll(), LOCAL_POLL_MS).unref();
    return () => {
      unwatch();
      for (const key of this.known.keys()) if (!this.hub.covers(key)) this.known.delete(key);
      for (const key of this.watchedEphemerals.keys()) if (!this.hub.covers(key)) this.watchedEphemerals.delete(key);
      if (this.hub.prefixes().length > 0) return;
      clearInterval(this.timer);
      this.timer = undefined;
      this.known.clear();
      this.priming.clear();
      this.watchedEphemerals.clear();
      this.cursor = undefined;
    };
  }

  async elect(group: string, candidate: string): Promise<Leadership> {
    this.enter(group);
    return elect(this, group, candidate, this.ended.signal);
  }

  async leader(group: string): Promise<string | undefined> {
    this.enter(group);
    return leaderOf(this, group);
  }

  async close(): Promise<void> {
    if (this.ended.signal.aborted) return;
    this.ended.abort();
    clearInterval(this.timer);
    this.hub.clear();
    this.known.clear();
    try {
      await this.locked(async (tx) => {
        const changes: StagedChange[] = [];
        for (const key of this.ephemerals) {
          if ((await tx.read(key))?.owner?.session !== this.owner.session) continue;
          tx.remove(key);
          changes.push({ key, record: undefined });
        }
        return { result: undefined, changes };
      });
    } finally {
      const peers = sessions.get(this.tree.dir);
      peers?.delete(this);
      if (peers?.size === 0) {
        sessions.delete(this.tree.dir);
        commits.delete(this.tree.dir);
      }
    }
  }

  /** Checks the session is open and `key` (or, with `prefix`, the prefix) is valid. */
  private enter(key: string, prefix = false): void {
    if (this.ended.signal.aborted) throw closedError(this.description);
    if (prefix) checkPrefix(key);
    else checkKey(key);
  }

  private record(value: string, version: number, stamp: number, owner: StoredRecord['owner']): StoredRecord {
    return { value, version, stamp, ...(owner === undefined ? {} : { owner }) };
  }

  /**
   * The record at `key` unless it is missing or an ephemeral of a dead owner; such a record is
   * removed: staged in the caller's batch (`tx`, under the lock), else in a batch of its own.
   */
  private async liveRecord(key: string, tx?: BatchTx): Promise<StoredRecord | undefined> {
    const record = tx ? await tx.read(key) : await this.tree.read(key);
    if (record === undefined || isLive(record)) return record;
    if (tx) tx.remove(key);
    else await this.reap(key);
    return undefined;
  }

  /** Removes `key` if it is (still) an ephemeral of a dead owner. */
  private async reap(key: string): Promise<void> {
    await this.locked(async (tx) => {
      const record = await tx.read(key);
      if (record === undefined || isLive(record)) return { result: undefined, changes: [] };
      tx.remove(key);
      return { result: undefined, changes: [{ key, record: undefined }] };
    });
  }

  /**
   * Runs `write` in this process's next batch of writes (local-batch.ts: one lock, one stamp for
   * the writes queued together), then tells this process's sessions what it changed.
   */
  private async locked<T>(write: (tx: BatchTx) => Promise<{ result: T; changes: StagedChange[] }>): Promise<T> {
    return this.told(await this.commits.run(write));
  }

  /** Runs `write` under the directory lock in a batch of its own, then tells the sessions. */
  private async lockedAlone<T>(
    write: (tree: FileTree) => Promise<{ result: T; changes: StagedChange[]; stamp: number }>,
  ): Promise<T> {
    return this.told(await this.commits.runAlone(write));
  }

  /** Tells this process's sessions what a write changed; returns its result. */
  private told<T>({ result, changes, stamp }: { result: T; changes: StagedChange[]; stamp: number }): T {
    for (const peer of sessions.get(this.tree.dir) ?? []) {
      for (const { key, record } of changes) peer.observe(key, record, record?.stamp ?? stamp, true);
    }
    return result;
  }

  /**
   * Reports `key` to the watches if its state differs from what they last heard, unless that was
   * newer (`stamp` older than the last report). A change made in this process (`told`) is
   * reported even when the key's earlier state was never heard.
   */
  private observe(key: string, record: StoredRecord | undefined, stamp: number, told = false): void {
    if (!this.hub.covers(key)) return;
    const known = this.known.get(key);
    if (known !== undefined && known.stamp > stamp) return;
    const version = record?.version;
    const same =
      known === undefined
        ? !told && version === undefined
        : known.version === version && (version === undefined || known.stamp === stamp);
    this.known.set(key, { stamp, version });
    if (!same) this.hub.emit({ key, value: record?.value });
  }

  /** Compares the watched keys with the files; one scan at a time, and one more if asked meanwhile. */
  private async poll(): Promise<void> {
    if (this.polling !== undefined) {
      this.pollAgain = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.pollAgain = false;
        await this.scan();
      } while (this.rescanWanted());
    })()
      .catch(() => undefined)
      .finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** True when a scan was asked for while one ran. */
  private rescanWanted(): boolean {
    return this.pollAgain && !this.ended.signal.aborted;
  }

  /**
   * One poll: what the journal names since the last poll is read and compared; a prefix watched
   * since the last poll, or every prefix when the journal cannot say what changed, is scanned in
   * full. Ephemeral keys seen under the watched prefixes are checked for a dead owner (a crash
   * writes nothing to the journal).
   */
  private async scan(): Promise<void> {
    const start = await this.tree.stamp();
    const journal = await this.tree.journal.read(this.cursor, start);
    const prefixes = this.hub.prefixes();
    const full = journal.complete ? prefixes.filter((p) => this.priming.has(p)) : prefixes;
    for (const prefix of full) await this.scanPrefix(prefix, start);
    for (const key of journal.keys) {
      if (!this.hub.covers(key) || full.some((p) => isUnder(key, p))) continue;
      await this.recheck(key, start);
    }
    this.cursor = journal.cursor;
    for (const [key, owner] of this.watchedEphemerals) {
      if (isOwnerAlive(owner)) continue;
      this.watchedEphemerals.delete(key);
      await this.reap(key);
      // Already removed by whoever met it first: the watches still hear that it is gone.
      this.observe(key, undefined, start);
    }
  }

  /** Reads one journaled key and reports it if it changed. */
  private async recheck(key: string, start: number): Promise<void> {
    this.journalReads += 1;
    const record = await this.tree.read(key);
    if (record !== undefined && !isLive(record)) {
      await this.reap(key);
      return;
    }
    this.track(key, record);
    if (record !== undefined) {
      this.observe(key, record, record.stamp);
      return;
    }
    const known = this.known.get(key);
    if (known?.version !== undefined) this.observe(key, undefined, start);
    else if (known !== undefined && known.stamp <= start) this.known.delete(key);
  }

  /**
   * Compares every record under `prefix` with what the watches heard. A prefix watched since the
   * last poll only records what it finds, since watches report later changes only.
   */
  private async scanPrefix(prefix: string, start: number): Promise<void> {
    const since = this.priming.get(prefix);
    this.priming.delete(prefix);
    const found = await this.tree.scan(prefix);
    for (const [key, record] of found) {
      if (!isLive(record)) {
        await this.reap(key);
        continue;
      }
      this.track(key, record);
      // Written before the watch started: the baseline; anything newer is a change to report.
      if (since !== undefined && record.stamp <= since && !this.known.has(key))
        this.known.set(key, { stamp: record.stamp, version: record.version });
      else this.observe(key, record, record.stamp);
    }
    for (const [key, known] of this.known) {
      if (!isUnder(key, prefix) || found.has(key)) continue;
      this.watchedEphemerals.delete(key);
      if (known.version !== undefined) this.observe(key, undefined, start);
      else if (known.stamp <= start) this.known.delete(key);
    }
    this.fullScans += 1;
  }

  /** Notes whether a watched key is an ephemeral (whose owner's death the polls look for). */
  private track(key: string, record: StoredRecord | undefined): void {
    if (record?.owner !== undefined) this.watchedEphemerals.set(key, record.owner);
    else this.watchedEphemerals.delete(key);
  }

  /**
   * How much the polls have read so far: full scans of a prefix, and single records named by the
   * journal. For tests that guard the cost of a poll (it must not grow with the keys watched).
   */
  pollCost(): { fullScans: number; journalReads: number } {
    return { fullScans: this.fullScans, journalReads: this.journalReads };
  }
}
