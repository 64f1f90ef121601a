/**
 * A framework's durable records (batch jobs, cron jobs, MapReduce jobs): one coordinator key per
 * record under a prefix, each written whole with compare-and-set against the version this process
 * last read or wrote. So a leader that was deposed without knowing it (its successor has written
 * since) cannot overwrite its successor's state: its write fails with {@link RecordFenced}, and it
 * must stop acting.
 *
 * Writes of one record are group-committed: while one write is in flight, every later save joins
 * the next write, which carries the state of its own time. A caller that must not go on before its
 * change is stored (a launch, an acknowledgement) awaits `save`; nothing else waits.
 *
 * Without a coordinator the records are volatile: saves resolve at once and nothing survives the
 * process (a framework run without `coordinator=`).
 */
import { MAX_VALUE_BYTES, type Coordinator } from '../../core/coordinator/coordinator.js';
import { GalaxyError, isGalaxyError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';

/**
 * The largest record stored, in bytes: half of what one coordinator key holds
 * ({@link MAX_VALUE_BYTES}), so that a record admitted at its creation has room to grow.
 */
export const MAX_RECORD_BYTES = Math.floor(MAX_VALUE_BYTES / 2);

/** A record's write lost its compare-and-set: another process (a newer leader) wrote it. */
export class RecordFenced extends GalaxyError {
  constructor(key: string) {
    super('GALAXY_E_COORD_CONFLICT', `${key} was written by another process (a newer leader); this one stops acting`);
    this.name = 'RecordFenced';
  }
}

/** A stored record as loaded. */
export interface LoadedRecord {
  readonly name: string;
  readonly value: unknown;
}

/** One write of a record and the saves waiting for it. */
interface Pending {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** The records under one prefix. */
export class RecordStore {
  /** Key → the version last read or written by this process. */
  private readonly versions = new Map<string, number>();
  /** Key → the write in flight, and the one queued after it. */
  private readonly writes = new Map<string, { current: Promise<void>; next?: Pending }>();

  constructor(
    /** Where the records live; none: volatile. */
    private readonly coordinator: Coordinator | undefined,
    /** E.g. `/galaxy/batch/jobs`. */
    readonly prefix: string,
    private readonly log: Logger,
    /** Called once when a write finds the record written by someone else. */
    private readonly onFenced: (error: RecordFenced) => void = () => undefined,
  ) {}

  /** True when records survive the process. */
  get durable(): boolean {
    return this.coordinator !== undefined;
  }

  /**
   * Every stored record. A record that cannot be read (torn, not JSON) is logged and skipped, so
   * one bad record never keeps a framework from starting.
   */
  async loadAll(): Promise<LoadedRecord[]> {
    if (!this.coordinator) return [];
    const out: LoadedRecord[] = [];
    for (const name of await this.coordinator.list(this.prefix)) {
      const key = this.key(name);
      const stored = await this.coordinator.get(key);
      if (!stored) continue;
      try {
        out.push({ name, value: JSON.parse(stored.value) as unknown });
        this.versions.set(key, stored.version);
      } catch (error) {
        this.log.error({ key, err: String(error) }, 'a stored record cannot be read; skipped');
      }
    }
    return out;
  }

  /**
   * Stores a new record `name` (or replaces the one this process loaded or wrote last). Rejects,
   * storing nothing, when it is too large, when someone else wrote the key meanwhile, or when the
   * coordinator fails.
   */
  async create(name: string, value: unknown): Promise<void> {
    const key = this.key(name);
    const text = this.serialize(key, value);
    if (!this.coordinator) return;
    await this.settled(key);
    try {
      this.versions.set(key, await this.coordinator.put(key, text, { expectedVersion: this.versions.get(key) ?? -1 }));
    } catch (error) {
      if (isGalaxyError(error, 'GALAXY_E_COORD_CONFLICT')) {
        const fenced = new RecordFenced(key);
        this.onFenced(fenced);
        throw fenced;
      }
      throw error;
    }
  }

  /**
   * Stores record `name` as `value()` returns it at the time of the write (the record must have
   * been created or loaded by this process). Resolves once a write that began after this call has
   * landed.
   */
  save(name: string, value: () => unknown): Promise<void> {
    if (!this.coordinator) return Promise.resolve();
    const key = this.key(name);
    const writing = this.writes.get(key);
    if (writing) {
      if (writing.next) return writing.next.promise;
      let resolve!: () => void;
      let reject!: (error: unknown) => void;
      const promise = new Promise<void>((yes, no) => {
        resolve = yes;
        reject = no;
      });
      // A failure nobody awaited is logged by the write itself.
      promise.catch(() => undefined);
      writing.next = { promise, resolve, reject };
      return promise;
    }
    return this.startWrite(key, value);
  }

  /** Deletes record `name` (after its queued writes). */
  async remove(name: string): Promise<void> {
    const key = this.key(name);
    if (!this.coordinator) return;
    await this.settled(key);
    const expectedVersion = this.versions.get(key);
    try {
      await this.coordinator.delete(key, expectedVersion === undefined ? {} : { expectedVersion });
    } catch (error) {
      if (!isGalaxyError(error, 'GALAXY_E_COORD_CONFLICT')) throw error;
      const fenced = new RecordFenced(key);
      this.onFenced(fenced);
      throw fenced;
    }
    this.versions.delete(key);
  }

  /** Resolves once every write queued so far has landed (or failed). */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.keys()].map((key) => this.settled(key)));
  }

  private key(name: string): string {
    return `${this.prefix}/${name}`;
  }

  private serialize(key: string, value: unknown): string {
    const text = JSON.stringify(value);
    const size = Buffer.byteLength(text, 'utf8');
    if (size > MAX_RECORD_BYTES)
      throw new GalaxyError(
        'GALAXY_E_TOO_LARGE',
        `the record ${key} would be ${size} bytes; the coordinator keeps at most ${MAX_RECORD_BYTES} bytes per record`,
      );
    return text;
  }

  /** Resolves when no write of `key` is in flight or queued. */
  private async settled(key: string): Promise<void> {
    for (let writing = this.writes.get(key); writing; writing = this.writes.get(key)) {
      await (writing.next?.promise ?? writing.current).catch(() => undefined);
    }
  }

  private startWrite(key: string, value: () => unknown): Promise<void> {
    const current = this.write(key, value);
    const entry: { current: Promise<void>; next?: Pending } = { current };
    this.writes.set(key, entry);
    void current
      .catch(() => undefined)
      .then(() => {
        const next = entry.next;
        if (!next) {
          this.writes.delete(key);
          return;
        }
        // The queued saves are carried by one write of the state as it is now.
        const followed = this.startWrite(key, value);
        followed.then(next.resolve, next.reject);
      });
    return current;
  }

  private async write(key: string, value: () => unknown): Promise<void> {
    const coordinator = this.coordinator;
    if (!coordinator) return;
    try {
      const text = this.serialize(key, value());
      this.versions.set(key, await coordinator.put(key, text, { expectedVersion: this.versions.get(key) ?? -1 }));
    } catch (error) {
      if (isGalaxyError(error, 'GALAXY_E_COORD_CONFLICT')) {
        const fenced = new RecordFenced(key);
        this.onFenced(fenced);
        throw fenced;
      }
      this.log.error({ key, err: String(error) }, 'a record could not be stored');
      throw error;
    }
  }
}
