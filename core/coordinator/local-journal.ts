/**
 * The local backend's change journal: one line `<stamp> <key>` per key a write changes, appended
 * under the directory lock BEFORE the write's records and its stamp are written. A watch in
 * another process reads only the lines appended since its last poll, instead of reading every
 * record under its prefix every 250 ms (with 12,000 agent credentials watched, those scans were
 * most of an idle master's CPU: issue 16).
 *
 * The journal is a hint, never the truth: a watch reads the records its lines name. It trusts a
 * line only once the stamp file has reached the line's stamp (the stamp is written last, so every
 * record of that write is on disk by then), and it falls back to a full scan whenever the journal
 * cannot explain the stamp: the journal was replaced (rotated past {@link JOURNAL_MAX_BYTES}),
 * lost, or written by a writer that does not journal. A writer that crashed after its line leaves
 * a line naming a key that may not have changed: the watch reads the key and finds nothing new.
 * Keys never hold a space or a newline (see keys.ts), so a line splits unambiguously.
 */
import { appendFileSync, statSync } from 'node:fs';
import { appendFile, open, stat } from 'node:fs/promises';
import { writeAtomic, writeAtomicSync } from '../files.js';

/** Past this size, the next write starts a new journal (readers of the old one scan once). */
export const JOURNAL_MAX_BYTES = 256 * 1024;

/** How much of the journal's end a reader starting afresh reads. */
const FRESH_TAIL_BYTES = 64 * 1024;

/** Where a reader is in the journal: the file's inode and the bytes consumed. */
export interface JournalCursor {
  readonly ino: number;
  readonly offset: number;
  /** The highest stamp consumed from this file. */
  readonly stamp: number;
}

/** What a reader learned from the journal. */
export interface JournalRead {
  /** Keys changed by writes up to the committed stamp, since the cursor. */
  readonly keys: Set<string>;
  readonly cursor: JournalCursor;
  /**
   * True when the keys are everything that changed since the previous cursor; false when the
   * caller must scan its prefixes in full (first read, journal replaced, or stamps it cannot see).
   */
  readonly complete: boolean;
}

/**
 * Parses journal text from a reader's offset: the keys of lines whose stamp is at most
 * `committed`, stopping at the first newer line or at an unfinished last line.
 */
export function parseJournal(
  text: string,
  committed: number,
): { keys: Set<string>; consumed: number; stamp: number; bad: boolean } {
  const keys = new Set<string>();
  let consumed = 0;
  let stamp = 0;
  let bad = false;
  while (consumed < text.length) {
    const end = text.indexOf('\n', consumed);
    if (end < 0) break; // a writer is mid-append: read it next time
    const line = text.slice(consumed, end);
    const space = line.indexOf(' ');
    const lineStamp = space > 0 ? Number(line.slice(0, space)) : NaN;
    if (!Number.isSafeInteger(lineStamp) || space === line.length - 1) {
      bad = true; // not a line this code wrote: the caller scans in full
      consumed = end + 1;
      continue;
    }
    if (lineStamp > committed) break;
    keys.add(line.slice(space + 1));
    stamp = Math.max(stamp, lineStamp);
    consumed = end + 1;
  }
  return { keys, consumed: Buffer.byteLength(text.slice(0, consumed)), stamp, bad };
}

/** The journal file of one local coordinator directory. */
export class ChangeJournal {
  constructor(
    readonly file: string,
    private readonly maxBytes = JOURNAL_MAX_BYTES,
  ) {}

  /** Appends the keys a write with stamp `stamp` changes; the lock must be held. */
  async append(stamp: number, keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const size = await stat(this.file).then(
      (s) => s.size,
      () => 0,
    );
    // Replaced, not truncated: a reader holding the old inode sees a new one and scans once.
    if (size > this.maxBytes) await writeAtomic(this.file, '', { ownerOnly: true });
    // Not fsynced: after a machine crash every watch starts again with a full scan.
    await appendFile(this.file, keys.map((key) => `${stamp} ${key}\n`).join(''), { mode: 0o600 });
  }

  /** {@link append}, synchronously: for a writer that must not wait on its event loop under the lock. */
  appendSync(stamp: number, keys: readonly string[]): void {
    if (keys.length === 0) return;
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      size = 0;
    }
    if (size > this.maxBytes) writeAtomicSync(this.file, '', { ownerOnly: true });
    appendFileSync(this.file, keys.map((key) => `${stamp} ${key}\n`).join(''), { mode: 0o600 });
  }

  /** Reads what was journaled after `cursor` up to the committed stamp `committed`. */
  async read(cursor: JournalCursor | undefined, committed: number, tailBytes = FRESH_TAIL_BYTES): Promise<JournalRead> {
    const handle = await open(this.file, 'r').catch(() => undefined);
    if (handle === undefined) {
      // No journal yet: nothing was written since this directory was made, or by a writer that
      // journals. Complete only if the stamp says nothing was written at all since the cursor.
      const same = cursor !== undefined && cursor.ino === 0 && cursor.stamp >= committed;
      return { keys: new Set(), cursor: { ino: 0, offset: 0, stamp: committed }, complete: same };
    }
    try {
      const { ino, size } = await handle.stat();
      const continues = cursor !== undefined && cursor.ino === ino && cursor.offset <= size;
      // A reader starting afresh scans in full anyway: it only needs where the lines newer than
      // the committed stamp begin, which is near the end (stamps only grow along the file).
      // Reading the whole journal instead cost every new session up to a megabyte (issue 16:
      // thousands of simulated agents each opening one).
      let from = continues ? cursor.offset : Math.max(0, size - tailBytes);
      const buffer = Buffer.alloc(size - from);
      if (buffer.length > 0) await handle.read(buffer, 0, buffer.length, from);
      let text = buffer.toString('utf8');
      if (!continues && from > 0) {
        const cut = text.indexOf('\n') + 1; // the first line is cut short: skip it
        text = text.slice(cut);
        from += cut;
      }
      const parsed = parseJournal(text, committed);
      // Every line of the tail is newer than the stamp (one huge write under way): where its
      // lines begin is further back, so read it all.
      if (!continues && from > 0 && parsed.consumed === 0 && text.length > 0)
        return await this.read(cursor, committed, Infinity);
      const stamp = Math.max(continues ? cursor.stamp : 0, parsed.stamp);
      return {
        keys: parsed.keys,
        cursor: { ino, offset: from + parsed.consumed, stamp },
        complete: continues && !parsed.bad && stamp >= committed,
      };
    } finally {
      await handle.close();
    }
  }
}
