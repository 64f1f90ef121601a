/**
 * The in-memory coordinator, for tests of logic. Sessions that share one {@link MemoryStore}
 * behave like processes sharing one coordination service: one session's `close()` removes its
 * ephemeral keys, which hands its leaderships to the next candidates, and every session sees
 * every change.
 */
import { randomUUID } from 'node:crypto';
import type { Coordinator, KeyChange, Leadership, Unwatch, Versioned } from './coordinator.js';
import { elect, leaderOf } from './election.js';
import { checkKey, checkPrefix, childOnPath, isUnder } from './keys.js';
import { checkExpected, closedError, nextVersion, ownedError, checkValueSize } from './versions.js';
import { WatchHub } from './watch-hub.js';

interface Entry extends Versioned {
  /** The session that owns the key when it is ephemeral. */
  readonly owner?: string;
}

/** The keys of an in-memory coordination service, shared by the sessions opened on it. */
export class MemoryStore {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<(change: KeyChange) => void>();

  /** The entry at `key`. */
  read(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  /** Every key, in no particular order. */
  keys(): IterableIterator<string> {
    return this.entries.keys();
  }

  /** Sets `key` and tells every session. */
  write(key: string, entry: Entry): void {
    this.entries.set(key, entry);
    this.tell({ key, value: entry.value });
  }

  /** Removes `key` (if present) and tells every session. */
  remove(key: string): void {
    if (this.entries.delete(key)) this.tell({ key, value: undefined });
  }

  /** Calls `listener` on every change; the result stops it. */
  subscribe(listener: (change: KeyChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(change: KeyChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

/** One session on a {@link MemoryStore}. */
export class MemoryCoordinator implements Coordinator {
  readonly description = 'memory:';
  private readonly session = randomUUID();
  private readonly ended = new AbortController();
  private readonly hub = new WatchHub();
  private readonly unsubscribe: () => void;

  /** Opens a session on `store` (by default a store of its own). */
  constructor(readonly store: MemoryStore = new MemoryStore()) {
    this.unsubscribe = store.subscribe((change) => {
      this.hub.emit(change);
    });
  }

  async get(key: string): Promise<Versioned | undefined> {
    this.enter(key);
    return Promise.resolve(this.versioned(key));
  }

  async put(key: string, value: string, options: { expectedVersion?: number } = {}): Promise<number> {
    this.enter(key);
    checkValueSize(key, value);
    const current = this.store.read(key);
    checkExpected(key, current, options.expectedVersion);
    const version = nextVersion(current);
    this.store.write(key, { value, version, ...(current?.owner === undefined ? {} : { owner: current.owner }) });
    return Promise.resolve(version);
  }

  async putEphemeral(key: string, value: string): Promise<void> {
    this.enter(key);
    checkValueSize(key, value);
    const current = this.store.read(key);
    if (current !== undefined && current.owner !== this.session) throw ownedError(key);
    this.store.write(key, { value, version: nextVersion(current), owner: this.session });
    return Promise.resolve();
  }

  async delete(key: string, options: { expectedVersion?: number; recursive?: boolean } = {}): Promise<void> {
    this.enter(key, options.recursive === true);
    checkExpected(key, this.versioned(key), options.expectedVersion);
    this.store.remove(key);
    if (options.recursive === true) for (const k of [...this.store.keys()]) if (isUnder(k, key)) this.store.remove(k);
    return Promise.resolve();
  }

  async list(prefix: string): Promise<string[]> {
    this.enter(prefix, true);
    const names = new Set<string>();
    for (const key of this.store.keys()) {
      const name = childOnPath(prefix, key);
      if (name !== undefined) names.add(name);
    }
    return Promise.resolve([...names].sort());
  }

  watch(prefix: string, onChange: (change: KeyChange) => void): Unwatch {
    this.enter(prefix, true);
    return this.hub.add(prefix, onChange);
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
    this.hub.clear();
    this.unsubscribe();
    for (const key of [...this.store.keys()]) if (this.store.read(key)?.owner === this.session) this.store.remove(key);
    return Promise.resolve();
  }

  /** Checks the session is open and `key` (or, with `prefix`, the prefix) is valid. */
  private enter(key: string, prefix = false): void {
    if (this.ended.signal.aborted) throw closedError(this.description);
    if (prefix) checkPrefix(key);
    else checkKey(key);
  }

  private versioned(key: string): Versioned | undefined {
    const entry = this.store.read(key);
    return entry === undefined ? undefined : { value: entry.value, version: entry.version };
  }
}
