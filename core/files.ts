/**
 * File helpers shared by the agent's checkpoints and the local coordinator.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** How {@link writeAtomic} writes. */
export interface WriteOptions {
  /** For the owner's eyes only: the file is made 0600, the directories made for it 0700. */
  readonly ownerOnly?: boolean;
}

/** Flushes a directory's entries (a rename in it) to disk. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `content` to `path` atomically and durably: a reader sees the old file or the new one,
 * never half, and once this resolves the new file survives a crash of the machine. The content
 * goes to a temporary file that is fsynced, then renamed over `path`, then the directory is
 * fsynced so the rename itself is on disk.
 */
export async function writeAtomic(path: string, content: string, options: WriteOptions = {}): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, ...(options.ownerOnly ? { mode: 0o700 } : {}) });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(tmp, 'w', options.ownerOnly ? 0o600 : 0o666);
    try {
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** Flushes a directory's entries to disk, synchronously. */
function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * {@link writeAtomic} with synchronous calls: for a writer holding a lock that others wait for,
 * which must not wait on its event loop between the steps (a few milliseconds of I/O are less than
 * what a turn of a busy process's event loop costs).
 */
export function writeAtomicSync(path: string, content: string, options: WriteOptions = {}): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, ...(options.ownerOnly ? { mode: 0o700 } : {}) });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'w', options.ownerOnly ? 0o600 : 0o666);
    try {
      writeFileSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
  syncDirectorySync(dir);
}

/** Why a stored record cannot be used: empty, or not what it should be (torn by a crash, or edited). */
export function tornReason(text: string, error?: unknown): string {
  if (text.trim() === '') return 'the file is empty';
  const why = error instanceof Error ? error.message : typeof error === 'string' ? error : 'unreadable';
  return `the file cannot be read (${why})`;
}
