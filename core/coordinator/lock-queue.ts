/**
 * Turns for a lock file shared by processes (file-lock.ts): a process that must wait leaves a
 * ticket beside the lock, `<lock>.want.<ms>.<pid>.<start>`, and tries the lock only when no live
 * process holds an older ticket; it removes its ticket once it has the lock (or gives up). A
 * process about to take a free lock first looks for tickets, and queues behind any it finds.
 *
 * A ticket of a dead process is removed by whoever meets it. A ticket older than
 * {@link TICKET_PATIENCE_MS} no longer holds the others back (its process is alive but not taking
 * its turn: stopped, or starved), so a stuck waiter cannot stop the lock for good.
 */
import { unlinkSync } from 'node:fs';
import { readdir, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isOwnerAlive, type Owner } from './owner.js';

/** How long a waiting ticket keeps its place before the others go ahead of it. */
export const TICKET_PATIENCE_MS = 5000;

/** A ticket read from its file name. */
interface Ticket {
  readonly file: string;
  readonly at: number;
  readonly pid: number;
  readonly start: string;
}

/** True when ticket `a` comes before `b`. */
function before(a: Ticket, b: Ticket): boolean {
  return a.at < b.at || (a.at === b.at && a.pid < b.pid);
}

/** One process's place in the queue for one acquisition of the lock at `path`. */
export class LockQueue {
  private readonly dir: string;
  private readonly prefix: string;
  private mine: Ticket | undefined;

  constructor(
    path: string,
    private readonly owner: Owner,
  ) {
    this.dir = dirname(path);
    this.prefix = `${basename(path)}.want.`;
  }

  /** The live tickets of other processes (a dead process's ticket is removed). */
  private async others(): Promise<Ticket[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const found: Ticket[] = [];
    for (const name of names) {
      if (!name.startsWith(this.prefix)) continue;
      const [at, pid, start] = name.slice(this.prefix.length).split('.');
      const ticket: Ticket = { file: join(this.dir, name), at: Number(at), pid: Number(pid), start: start ?? '' };
      if (!Number.isSafeInteger(ticket.at) || !Number.isSafeInteger(ticket.pid)) continue;
      if (ticket.file === this.mine?.file) continue;
      if (!isOwnerAlive({ pid: ticket.pid, start: ticket.start, session: '' })) {
        await unlink(ticket.file).catch(() => undefined);
        continue;
      }
      found.push(ticket);
    }
    return found;
  }

  /** True when another live process waits for the lock (within its patience). */
  async othersWaiting(): Promise<boolean> {
    const now = Date.now();
    return (await this.others()).some((t) => now - t.at <= TICKET_PATIENCE_MS);
  }

  /** Takes a ticket (once). */
  async join(): Promise<void> {
    if (this.mine) return;
    const at = Date.now();
    const file = join(this.dir, `${this.prefix}${at}.${this.owner.pid}.${this.owner.start}`);
    await writeFile(file, '', { mode: 0o600 });
    this.mine = { file, at, pid: this.owner.pid, start: this.owner.start };
  }

  /** True when this process may try the lock: no ticket yet, or none older still waiting. */
  async myTurn(): Promise<boolean> {
    const mine = this.mine;
    if (!mine) return true;
    const now = Date.now();
    return !(await this.others()).some((t) => before(t, mine) && now - t.at <= TICKET_PATIENCE_MS);
  }

  /** Gives the ticket back, synchronously (the lock was just taken: nothing may wait now). */
  leaveSync(): void {
    if (!this.mine) return;
    try {
      unlinkSync(this.mine.file);
    } catch {
      // already gone
    }
    this.mine = undefined;
  }

  /** Gives the ticket back. */
  async leave(): Promise<void> {
    if (!this.mine) return;
    await unlink(this.mine.file).catch(() => undefined);
    this.mine = undefined;
  }
}
