/**
 * The local backend's files. Key `/a/b` is the directory `<dir>/tree/a/b`; its value, if any, is
 * the file `#value` inside it, so a key can hold a value and children at once (`#` never occurs in
 * a key segment). Every file is replaced atomically. `<dir>/stamp` counts modifications, like
 * ZooKeeper's zxid: each record carries the stamp of its last write, which lets watchers tell old
 * news from new.
 *
 * The directory is Galaxy's daemons' alone: it is kept 0700 (made so, or narrowed at open), and
 * every file in it is written 0600, every directory made 0700.
 * Files are written durably (`writeAtomic` fsyncs), but a record can still be found torn or empty
 * (a disk that lied, a hand edit): it is reported once with its path and counts as absent, so a
 * daemon reading it still starts. A torn stamp file is rebuilt from the newest record's stamp.
 */
import { readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { tornReason, writeAtomic, writeAtomicSync } from '../files.js';
import { createLogger } from '../logger.js';
import type { Versioned } from './coordinator.js';
import { joinKey, segmentsOf } from './keys.js';
import { ChangeJournal } from './local-journal.js';
import { asOwner, isOwnerAlive, type Owner } from './owner.js';

const VALUE = '#value';

/** A key's stored record. */
export interface StoredRecord extends Versioned {
  /** The modification stamp of the write that produced this record. */
  readonly stamp: number;
  /** The session owning the key when it is ephemeral. */
  readonly owner?: Owner;
}

/** Reports a record that cannot be used, by its path. */
export type TornReporter = (path: string, reason: string) => void;

/** Paths already reported, so a watch that polls does not report the same file again and again. */
const reported = new Set<string>();

/** The default reporter: a warning in the coordinator's log, once per path. */
export const warnTorn: TornReporter = (path, reason) => {
  if (reported.has(path)) return;
  reported.add(path);
  createLogger('coordinator').warn({ path }, `coordinator record ${path} is torn and counts as absent: ${reason}`);
};

/** True when `record` counts: durable, or ephemeral with a live owner. */
export function isLive(record: StoredRecord): boolean {
  return record.owner === undefined || isOwnerAlive(record.owner);
}

/** The key/value files under one directory. Writers must hold the directory's lock. */
export class FileTree {
  private readonly root: string;
  private readonly stampFile: string;
  /** The lock file writers hold. */
  readonly lockFile: string;
  /** Which keys each write changed, for watches in other processes. */
  readonly journal: ChangeJournal;

  constructor(
    readonly dir: string,
    private readonly report: TornReporter = warnTorn,
  ) {
    this.root = join(dir, 'tree');
    this.stampFile = join(dir, 'stamp');
    this.lockFile = join(dir, 'lock');
    this.journal = new ChangeJournal(join(dir, 'changes'));
  }

  /** Creates the directory layout, readable by its owner only. */
  async init(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    for (const dir of [this.dir, this.root]) if (((await stat(dir)).mode & 0o077) !== 0) await chmod(dir, 0o700);
  }

  private pathOf(key: string): string {
    return join(this.root, ...segmentsOf(key));
  }

  /** The record at `key`, dead or alive; a torn one is reported and counts as absent. */
  async read(key: string): Promise<StoredRecord | undefined> {
    const path = join(this.pathOf(key), VALUE);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    return text === undefined ? undefined : this.parse(path, text);
  }

  /** {@link read}, synchronously: for a writer holding the lock (local-batch.ts). */
  readSync(key: string): StoredRecord | undefined {
    const path = join(this.pathOf(key), VALUE);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
    return this.parse(path, text);
  }

  /** The record in the text of the file at `path`; a torn one is reported and counts as absent. */
  private parse(path: string, text: string): StoredRecord | undefined {
    let raw: { value?: unknown; version?: unknown; stamp?: unknown; owner?: unknown };
    try {
      raw = JSON.parse(text) as typeof raw;
    } catch (error) {
      this.report(path, tornReason(text, error));
      return undefined;
    }
    const { value, version, stamp } = raw;
    if (typeof value !== 'string' || !Number.isSafeInteger(version) || !Number.isSafeInteger(stamp)) {
      this.report(path, tornReason(text, new Error('value, version or stamp is missing')));
      return undefined;
    }
    reported.delete(path);
    const owner = asOwner(raw.owner);
    return {
      value,
      version: version as number,
      stamp: stamp as number,
      ...(owner === undefined ? {} : { owner }),
    };
  }

  /** Writes the record at `key`. */
  async write(key: string, record: StoredRecord): Promise<void> {
    await writeAtomic(join(this.pathOf(key), VALUE), JSON.stringify(record), { ownerOnly: true });
  }

  /** {@link write}, synchronously: for a writer holding the lock (local-batch.ts). */
  writeSync(key: string, record: StoredRecord): void {
    writeAtomicSync(join(this.pathOf(key), VALUE), JSON.stringify(record), { ownerOnly: true });
  }

  /**
   * Removes the value of `key` and the directories left empty above it, synchronously (a writer
   * holding the lock, local-batch.ts).
   */
  removeSync(key: string): void {
    try {
      unlinkSync(join(this.pathOf(key), VALUE));
    } catch {
      // already gone
    }
    this.prune(key);
  }

  /** Removes `key` and everything under it. */
  async removeTree(key: string): Promise<void> {
    await rm(this.pathOf(key), { recursive: true, force: true });
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    this.prune(key);
  }

  /** Removes the directories left empty at and above `key`. */
  private prune(key: string): void {
    const segments = segmentsOf(key);
    for (let n = segments.length; n > 0; n -= 1) {
      try {
        rmdirSync(join(this.root, ...segments.slice(0, n)));
      } catch {
        return; // not empty (or already gone above a missing key): stop climbing
      }
    }
  }

  /** The names of the direct children of `prefix` that have a value or children of their own. */
  async children(prefix: string): Promise<{ name: string; hasChildren: boolean }[]> {
    const found: { name: string; hasChildren: boolean }[] = [];
    for (const name of await this.names(this.pathOf(prefix))) {
      const inside = await readdir(join(this.pathOf(prefix), name)).catch(() => []);
      if (inside.length > 0) found.push({ name, hasChildren: inside.some((n) => !n.startsWith('#')) });
    }
    return found;
  }

  /** Every record at or under `prefix`, dead or alive. */
  async scan(prefix: string): Promise<Map<string, StoredRecord>> {
    const records = new Map<string, StoredRecord>();
    const visit = async (key: string): Promise<void> => {
      const record = await this.read(key).catch(() => undefined);
      if (record !== undefined) records.set(key, record);
      for (const name of await this.names(this.pathOf(key))) await visit(joinKey(key, name));
    };
    await visit(prefix);
    return records;
  }

  private async names(path: string): Promise<string[]> {
    const entries = await readdir(path, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('#')).map((e) => e.name);
  }

  /** The current modification stamp; a torn stamp file is reported and rebuilt from the records. */
  async stamp(): Promise<number> {
    const text = await readFile(this.stampFile, 'utf8').catch(() => '0');
    const stamp = this.parseStamp(text);
    if (stamp !== undefined) return stamp;
    let newest = 0;
    for (const record of (await this.scan('/')).values()) newest = Math.max(newest, record.stamp);
    return newest;
  }

  /**
   * {@link stamp}, synchronously when the stamp file is whole (`undefined` when it is torn: the
   * caller rebuilds it with {@link stamp}).
   */
  stampSync(): number | undefined {
    let text: string;
    try {
      text = readFileSync(this.stampFile, 'utf8');
    } catch {
      text = '0';
    }
    return this.parseStamp(text);
  }

  /** The stamp in the stamp file's text; a torn one is reported (`undefined`). */
  private parseStamp(text: string): number | undefined {
    if (/^\d+$/.test(text.trim())) {
      reported.delete(this.stampFile);
      return Number(text);
    }
    this.report(this.stampFile, tornReason(text, new Error('not a number')));
    return undefined;
  }

  /**
   * The current modification stamp, read at once: a watch notes it as it starts, so that what is
   * written after it started (by any process) is reported, not taken for its baseline.
   */
  stampNow(): number {
    try {
      return Number(readFileSync(this.stampFile, 'utf8'));
    } catch {
      return 0;
    }
  }

  /**
   * Carries out one write (the lock must be held): journals the `keys` it changes under the next
   * stamp, runs `apply` with that stamp (it writes or removes the records), then advances the
   * stamp file. The stamp is written last, so a watch that has read stamp S knows every record of
   * every write up to S is on disk. Returns the stamp. `stamp`, when given, is the next stamp
   * as the caller read it under the same lock (a batch that stamped its records before).
   */
  async commit(keys: readonly string[], apply: (stamp: number) => Promise<void>, stamp?: number): Promise<number> {
    const next = stamp ?? (await this.stamp()) + 1;
    await this.journal.append(next, keys);
    await apply(next);
    await writeAtomic(this.stampFile, String(next), { ownerOnly: true });
    return next;
  }

  /**
   * The end of a write made with synchronous calls (the lock must be held, the records written):
   * journals the `keys` under `stamp`, then runs `apply` (it writes or removes the records), then
   * advances the stamp file, as {@link commit} does.
   */
  commitSync(keys: readonly string[], apply: () => void, stamp: number): void {
    this.journal.appendSync(stamp, keys);
    apply();
    writeAtomicSync(this.stampFile, String(stamp), { ownerOnly: true });
  }
}
