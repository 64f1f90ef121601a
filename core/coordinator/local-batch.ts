/**
 * Group commit for the local coordinator: the writes one process queues while its previous batch
 * holds the directory lock go in together, under one acquisition of the lock, one stamp, one
 * journal append and one stamp write, their records written side by side. Mesos' registrar
 * applies its queued operations in one write the same way.
 *
 * Why (issue 16): each write cost its own lock acquisition and four fsyncs (its record and the
 * stamp, each with its directory), 10–60 ms on a loaded machine; a master admitting 3,000 agents
 * and frameworks storing a burst of jobs queued hundreds of writes one behind the other, and a
 * job's submit waited seconds for its turn.
 *
 * Each write runs against the batch's view ({@link BatchTx}): it sees the records staged by the
 * writes before it in the same batch, so a compare-and-set behaves as if the writes had been made
 * one after another. A write that throws stages nothing and fails alone; a batch whose files
 * cannot be written fails every write in it. Every record of a batch carries the batch's stamp.
 *
 * Under the lock a batch does not wait on its process's event loop: its reads are synchronous
 * (the writes' `await tx.read` settle as microtasks), and so are its journal line, its stamp and,
 * in a batch of at most {@link SYNC_MAX_RECORDS} records, the records' writes; a larger batch
 * writes its records in parallel (their fsyncs overlap), the only turns it holds the lock across.
 * Each `await` under the lock was a turn of the event loop, and a master busy with a burst of
 * launches held the lock 100–330 ms for one record while the frameworks' writes waited (issue 16).
 */
import { withFileLock } from './file-lock.js';
import type { FileTree, StoredRecord } from './local-tree.js';
import type { Owner } from './owner.js';

/** Writes in one batch, at most (their records are written side by side). */
export const BATCH_MAX_WRITES = 128;

/**
 * Records a batch writes with synchronous calls, at most (a few milliseconds each, fsyncs
 * included); a larger batch writes them in parallel, as one record's fsync is most of its cost.
 */
export const SYNC_MAX_RECORDS = 8;

/** A key's change as a write reports it to the watches. */
export interface StagedChange {
  readonly key: string;
  /** The new record; `undefined`: removed. */
  readonly record: StoredRecord | undefined;
}

/** The batch as one write sees it, under the directory lock. */
export interface BatchTx {
  /** The stamp every record of this batch carries. */
  readonly stamp: number;
  /** The record at `key`: staged earlier in this batch, else on disk (dead or alive). */
  read(key: string): Promise<StoredRecord | undefined>;
  /** Stages `record` at `key`. */
  write(key: string, record: StoredRecord): void;
  /** Stages the removal of `key`'s value. */
  remove(key: string): void;
}

/** One write: reads and checks through `tx`, stages its changes, and says what it changed. */
export type BatchWrite<T> = (tx: BatchTx) => Promise<{ result: T; changes: StagedChange[] }>;

/** What a write did once its batch is on disk: its result, its changes and the batch's stamp (0: none). */
export interface Committed<T> {
  readonly result: T;
  readonly changes: StagedChange[];
  readonly stamp: number;
}

/** A write that must run alone under the lock (it touches files directly, e.g. a recursive delete). */
export type SoloWrite<T> = (tree: FileTree) => Promise<Committed<T>>;

interface Queued {
  readonly write?: BatchWrite<unknown>;
  readonly solo?: SoloWrite<unknown>;
  readonly resolve: (committed: Committed<unknown>) => void;
  readonly reject: (error: Error) => void;
}

/** A write's outcome within its batch, before the batch is on disk. */
type Outcome = { ok: true; result: unknown; changes: StagedChange[] } | { ok: false; error: Error };

/** `error` as an Error (a rejection reason is not always one). */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The queue of one process's writes to one directory. */
export class GroupCommit {
  private readonly queue: Queued[] = [];
  private running = false;

  constructor(
    private readonly tree: FileTree,
    /** Who holds the lock while a batch is written (a process's session: liveness is by pid). */
    private readonly owner: Owner,
  ) {}

  /** Runs `write` in the next batch; resolves once the batch is on disk. */
  async run<T>(write: BatchWrite<T>): Promise<Committed<T>> {
    return (await this.enqueue({ write })) as Committed<T>;
  }

  /** Runs `solo` under the lock in a batch of its own. */
  async runAlone<T>(solo: SoloWrite<T>): Promise<Committed<T>> {
    return (await this.enqueue({ solo })) as Committed<T>;
  }

  private enqueue(entry: Pick<Queued, 'write' | 'solo'>): Promise<Committed<unknown>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ ...entry, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  /** Writes batches until the queue is empty: one solo write, or up to {@link BATCH_MAX_WRITES} writes. */
  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const first = this.queue[0] as Queued;
        const solo = first.solo;
        if (solo) {
          this.queue.shift();
          await withFileLock(this.tree.lockFile, this.owner, () => solo(this.tree)).then(
            first.resolve,
            (error: unknown) => {
              first.reject(asError(error));
            },
          );
          continue;
        }
        let end = 0;
        while (end < this.queue.length && end < BATCH_MAX_WRITES && this.queue[end]?.write) end += 1;
        const batch = this.queue.splice(0, end);
        // Settled once the lock is let go: a caller that goes on finds the directory at rest.
        await withFileLock(this.tree.lockFile, this.owner, () => this.commit(batch)).then(
          (settle) => {
            settle();
          },
          (error: unknown) => {
            for (const entry of batch) entry.reject(asError(error));
          },
        );
      }
    } finally {
      this.running = false;
    }
  }

  /**
   * Runs the batch's writes one after another against a shared view, then journals every key
   * they changed under the next stamp, writes the records (side by side) and removals, and
   * advances the stamp last (local-tree.ts `commit`). Resolves with what settles each write.
   */
  private async commit(batch: readonly Queued[]): Promise<() => void> {
    const stamp = (this.tree.stampSync() ?? (await this.tree.stamp())) + 1;
    /** The batch's view so far: key → staged record, or `null` for a staged removal. */
    const staged = new Map<string, StoredRecord | null>();
    const outcomes: Outcome[] = [];
    for (const entry of batch) {
      const own = new Map<string, StoredRecord | null>();
      const tx: BatchTx = {
        stamp,
        read: (key) => {
          const mine = own.has(key) ? own.get(key) : staged.get(key);
          return Promise.resolve(mine !== undefined ? (mine ?? undefined) : this.tree.readSync(key));
        },
        write: (key, record) => {
          own.set(key, record);
        },
        remove: (key) => {
          own.set(key, null);
        },
      };
      try {
        const { result, changes } = await (entry.write as BatchWrite<unknown>)(tx);
        outcomes.push({ ok: true, result, changes });
        // Staged only once the write succeeded: one that throws changes nothing.
        for (const [key, record] of own) staged.set(key, record);
      } catch (error) {
        outcomes.push({ ok: false, error: asError(error) });
      }
    }
    if (staged.size > 0) {
      const keys = [...staged.keys()];
      const writes = [...staged].filter((e): e is [string, StoredRecord] => e[1] !== null);
      // Removals after the writes, one at a time: a removal prunes the directories it leaves
      // empty, which must not race a write making its directory beside them.
      const removals = keys.filter((key) => staged.get(key) === null);
      if (writes.length <= SYNC_MAX_RECORDS) {
        this.tree.commitSync(
          keys,
          () => {
            for (const [key, record] of writes) this.tree.writeSync(key, record);
            for (const key of removals) this.tree.removeSync(key);
          },
          stamp,
        );
      } else {
        this.tree.journal.appendSync(stamp, keys);
        await Promise.all(writes.map(([key, record]) => this.tree.write(key, record)));
        this.tree.commitSync(
          [],
          () => {
            for (const key of removals) this.tree.removeSync(key);
          },
          stamp,
        );
      }
    }
    const committed = staged.size > 0 ? stamp : 0;
    return () => {
      batch.forEach((entry, i) => {
        const outcome = outcomes[i] as Outcome;
        if (outcome.ok) entry.resolve({ result: outcome.result, changes: outcome.changes, stamp: committed });
        else entry.reject(outcome.error);
      });
    };
  }
}
