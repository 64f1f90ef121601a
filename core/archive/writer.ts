/**
 * Writes the entries of an archive, once the guard has admitted them, into a fresh directory that
 * only this process writes to. It never follows a link: files are created with O_NOFOLLOW and
 * O_EXCL, parents are directories the guard has seen made, hard links name a file of the archive.
 * Entries are written one at a time, in order; a file's data flows only once its file is open, so
 * the parser waits (backpressure) rather than buffering.
 *
 * node-tar's own extractor is not used: it hangs for ever on some admitted archives (a link
 * `a/a -> a` under a parent it has to make), which would let a package stall a deploy.
 */
import { constants } from 'node:fs';
import { link, mkdir, open, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadEntry } from 'tar';
import { componentsOf } from './resolve.js';

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Writes admitted entries under `root`; see the module comment. */
export class EntryWriter {
  private queue: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  /**
   * @param root the destination: an empty directory
   * @param keepSpecialBits keep setuid, setgid and sticky bits (else only the permission bits)
   * @param onError called once, with the first failure (the caller aborts the parse)
   */
  constructor(
    private readonly root: string,
    private readonly keepSpecialBits: boolean,
    private readonly onError: (error: Error) => void,
  ) {}

  /** Queues `entry` (already admitted by the guard). */
  write(entry: ReadEntry): void {
    this.queue = this.queue.then(async () => {
      if (this.failure !== undefined) {
        entry.resume();
        return;
      }
      try {
        await this.one(entry);
      } catch (error) {
        entry.resume();
        this.failure = error instanceof Error ? error : new Error(String(error));
        this.onError(this.failure);
      }
    });
  }

  /** Resolves once every queued entry is written; rejects with the first failure. */
  async done(): Promise<void> {
    await this.queue;
    if (this.failure !== undefined) throw this.failure;
  }

  private async one(entry: ReadEntry): Promise<void> {
    const segments = componentsOf(entry.path);
    const path = join(this.root, ...segments);
    for (let n = 1; n < segments.length; n++) await mkdirOnce(join(this.root, ...segments.slice(0, n)), 0o755);
    const mode = (entry.mode ?? 0o644) & (this.keepSpecialBits ? 0o7777 : 0o777);
    switch (entry.type) {
      case 'Directory':
        entry.resume();
        // The owner keeps rwx so that the rest of the archive can be written into it.
        if (segments.length > 0) await mkdirOnce(path, (mode | 0o700) & 0o7777);
        return;
      case 'SymbolicLink':
        entry.resume();
        await symlink(entry.linkpath ?? '', path);
        return;
      case 'Link':
        entry.resume();
        await unlink(path).catch(() => undefined); // a file it replaces (the guard allows no other)
        await link(join(this.root, ...componentsOf(entry.linkpath ?? '')), path);
        return;
      default:
        await this.file(entry, path, mode);
    }
  }

  private async file(entry: ReadEntry, path: string, mode: number): Promise<void> {
    await unlink(path).catch(() => undefined); // an earlier copy of the same file (tar -r)
    const handle = await open(path, CREATE, mode);
    try {
      for await (const chunk of entry as AsyncIterable<Buffer>)
        for (let at = 0; at < chunk.length;) at += (await handle.write(chunk, at)).bytesWritten;
      if (entry.mtime) await handle.utimes(entry.mtime, entry.mtime);
    } finally {
      await handle.close();
    }
  }
}

/** Makes the directory `path` unless it exists. */
async function mkdirOnce(path: string, mode: number): Promise<void> {
  await mkdir(path, { mode }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
}
