/**
 * Turns for the local coordinator's lock between processes (lock-queue.ts, file-lock.ts): a
 * process does not take a free lock while another live process waits with an older ticket; a
 * dead process's ticket, or one past its patience, holds nobody back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withFileLock } from './file-lock.js';
import { TICKET_PATIENCE_MS } from './lock-queue.js';
import { newOwner } from './owner.js';

let dir: string;
let other: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'replay2-lock-queue-'));
});

afterEach(async () => {
  if (other && other.exitCode === null && other.signalCode === null) {
    other.kill('SIGKILL');
    await once(other, 'exit');
  }
  other = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A live process that is not this one, and its start time (`/proc/<pid>/stat` field 22). */
async function liveProcess(): Promise<{ pid: number; start: string }> {
  other = spawn(process.execPath, ['-e', 'setInterval(() => undefined, 1000)'], { stdio: 'ignore' });
  await once(other, 'spawn');
  const pid = other.pid as number;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return { pid, start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '' };
}

const LOCK = (): string => join(dir, 'lock');
const ticket = (at: number, pid: number, start: string): string => join(dir, `lock.want.${at}.${pid}.${start}`);

describe('the lock takes turns between processes', () => {
  it('waits while a live process holds an older ticket, and takes the lock once it is gone', async () => {
    const { pid, start } = await liveProcess();
    const theirs = ticket(Date.now() - 10, pid, start);
    await writeFile(theirs, '');
    let ran = false;
    const run = withFileLock(LOCK(), newOwner(), () => {
      ran = true;
      return Promise.resolve();
    });
    await sleep(300);
    expect(ran).toBe(false); // the lock is free, but the other process's turn comes first
    await rm(theirs);
    await run;
    expect(ran).toBe(true);
    // No ticket of ours is left behind.
    expect((await readdir(dir)).filter((n) => n.includes('.want.'))).toEqual([]);
  });

  it("removes a dead process's ticket and goes ahead", async () => {
    const { pid, start } = await liveProcess();
    other?.kill('SIGKILL');
    if (other) await once(other, 'exit');
    await writeFile(ticket(Date.now() - 10, pid, start), '');
    const started = Date.now();
    await withFileLock(LOCK(), newOwner(), () => Promise.resolve());
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await readdir(dir)).filter((n) => n.includes('.want.'))).toEqual([]);
  });

  it('goes ahead of a live ticket older than its patience', async () => {
    const { pid, start } = await liveProcess();
    const stale = ticket(Date.now() - TICKET_PATIENCE_MS - 1000, pid, start);
    await writeFile(stale, '');
    await utimes(stale, new Date(), new Date()); // the name's time counts, not the file's
    const started = Date.now();
    await withFileLock(LOCK(), newOwner(), () => Promise.resolve());
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
