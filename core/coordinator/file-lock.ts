/**
 * A mutex shared by processes: a lock file created atomically (`link`, which fails when the file
 * exists) holding its owner. A lock whose owner process is dead is broken. Within one process,
 * callers queue on a promise chain first, so that only one of them polls the file.
 *
 * Between processes it takes turns (lock-queue.ts): a process that finds the lock taken, or
 * others waiting, queues with a ticket and tries only once no older waiter is left. Without
 * that, a process with writes queued took the lock again the moment it let go, and another
 * process polling for it waited until that queue was empty (issue 16: a master storing 3,000
 * admitted agents kept the frameworks' job writes waiting for tens of seconds).
 *
 * The lock is taken, and let go, by synchronous calls: between the moment it is taken and the
 * moment `fn` starts, and between `fn`'s end and the release, the process's event loop does not
 * come round. A holder whose `fn` does its work synchronously too (local-batch.ts) holds the lock
 * for the time of its I/O alone, however busy its process (issue 16: a master busy with a burst of
 * launches held it 100–330 ms for one record, its awaits each waiting for a turn of its loop).
 */
import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { GalaxyError } from '../errors.js';
import { LockQueue } from './lock-queue.js';
import { asOwner, isOwnerAlive, type Owner } from './owner.js';

const GIVE_UP_MS = 10_000;
const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` while holding the lock file at `path` (on behalf of `owner`). */
export async function withFileLock<T>(path: string, owner: Owner, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.then(async () => {
    const token = await acquire(path, owner);
    try {
      return await fn();
    } finally {
      release(path, token);
    }
  });
  const settled = run.catch(() => undefined);
  queues.set(path, settled);
  void settled.then(() => {
    if (queues.get(path) === settled) queues.delete(path);
  });
  return run;
}

/**
 * Creates the lock file, waiting while a live process holds it; resolves with its content. Once
 * the lock is taken nothing more waits on the event loop (the draft and the ticket are removed
 * synchronously), so the caller's continuation runs in the same turn.
 */
async function acquire(path: string, owner: Owner): Promise<string> {
  const token = JSON.stringify({ ...owner, nonce: randomUUID() });
  const draft = `${path}.${randomUUID()}`;
  await writeFile(draft, token, { mode: 0o600 });
  const queue = new LockQueue(path, owner);
  let taken = false;
  try {
    const deadline = Date.now() + GIVE_UP_MS;
    // Others already waiting: queue behind them rather than take the lock from under them.
    if (await queue.othersWaiting()) await queue.join();
    for (let attempt = 0; ; attempt += 1) {
      if (await queue.myTurn()) {
        try {
          linkSync(draft, path);
          taken = true;
          unlinkQuietly(draft);
          queue.leaveSync();
          return token;
        } catch (error) {
          if (taken || (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        await queue.join();
        await breakIfStale(path);
      }
      if (Date.now() > deadline) {
        throw new GalaxyError(
          'GALAXY_E_COORD_UNAVAILABLE',
          `the lock ${path} has been held for ${GIVE_UP_MS / 1000}s by a live process (${await readFile(path, 'utf8').catch(() => '?')}): is it hung?`,
        );
      }
      await sleep(Math.min(1 + attempt, 5) * (0.5 + Math.random()));
    }
  } finally {
    if (!taken) {
      await unlink(draft).catch(() => undefined);
      await queue.leave();
    }
  }
}

/** Removes `file` if it is there. */
function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** Removes the lock file if it is still ours (synchronously: see the module's comment). */
function release(path: string, token: string): void {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  if (content === token) unlinkQuietly(path);
}

/**
 * Removes the lock at `path` if its owner is dead. It is moved aside first and checked: if a
 * live process took the lock between our read and the move, the lock is put back.
 */
async function breakIfStale(path: string): Promise<void> {
  const content = await readFile(path, 'utf8').catch(() => undefined);
  if (content === undefined) return;
  let holder: Owner | undefined;
  try {
    holder = asOwner(JSON.parse(content));
  } catch {
    holder = undefined;
  }
  if (holder === undefined || isOwnerAlive(holder)) return;
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch {
    return; // someone else broke it first
  }
  if ((await readFile(aside, 'utf8')) !== content) await link(aside, path).catch(() => undefined);
  await unlink(aside);
}
