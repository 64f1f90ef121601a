/**
 * The log reader on real files: rotated output read in order across files, a cursor that follows
 * a rotation, tails across files, and what a task may plant in its sandbox (links, FIFOs, hard
 * links) read as nothing.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, renameSync } from 'node:fs';
import { appendFile, link, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLogChunk, type LogReadRequest } from './reader.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-log-reader-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const request = (over: Partial<LogReadRequest> = {}): LogReadRequest => ({
  stream: 'stdout',
  cursor: '',
  maxBytes: 1 << 20,
  sinceMs: 0,
  ...over,
});

/** Reads everything from `cursor` on, chunk by chunk, as the master does. */
async function drain(cursor: string, maxBytes = 4): Promise<{ text: string; cursor: string }> {
  let text = '';
  for (;;) {
    const chunk = await readLogChunk(dir, request({ cursor, maxBytes }));
    cursor = chunk.cursor;
    if (chunk.data.length === 0) return { text, cursor };
    text += chunk.data.toString();
  }
}

describe('readLogChunk', () => {
  it('reads rotated files oldest first, in small chunks', async () => {
    await writeFile(join(dir, 'stdout.2'), 'a1\na2\n');
    await writeFile(join(dir, 'stdout.1'), 'b1\n');
    await writeFile(join(dir, 'stdout'), 'c1\nc2');
    expect((await drain('')).text).toBe('a1\na2\nb1\nc1\nc2');
  });

  it('follows across a rotation: a cursor into the old current file goes on into the new one', async () => {
    await writeFile(join(dir, 'stdout'), 'one\n');
    const first = await drain('');
    expect(first.text).toBe('one\n');
    await appendFile(join(dir, 'stdout'), 'two\n');
    await rename(join(dir, 'stdout'), join(dir, 'stdout.1'));
    await writeFile(join(dir, 'stdout'), 'three\n');
    expect((await drain(first.cursor)).text).toBe('two\nthree\n');
  });

  it('flags a gap when the cursor file was rotated away, and resumes at the oldest kept', async () => {
    await writeFile(join(dir, 'stdout'), 'old\n');
    const first = await drain('');
    await rm(join(dir, 'stdout'));
    await writeFile(join(dir, 'stdout.1'), 'kept\n');
    await writeFile(join(dir, 'stdout'), 'new\n');
    const chunk = await readLogChunk(dir, request({ cursor: first.cursor }));
    expect(chunk.gap).toBe(true);
    expect(chunk.data.toString()).toBe('kept\n');
  });

  it('tails the last lines across rotated files, a final newline not counted as a line', async () => {
    await writeFile(join(dir, 'stdout.1'), 'a\nb\nc\n');
    await writeFile(join(dir, 'stdout'), 'd\ne\n');
    const tail = async (n: number) => {
      const start = await readLogChunk(dir, request({ tailLines: n, maxBytes: 1 }));
      return start.data.toString() + (await drain(start.cursor)).text;
    };
    expect(await tail(1)).toBe('e\n');
    expect(await tail(3)).toBe('c\nd\ne\n');
    expect(await tail(10)).toBe('a\nb\nc\nd\ne\n');
    expect(await tail(0)).toBe('');
    await appendFile(join(dir, 'stdout'), 'partial');
    expect(await tail(2)).toBe('e\npartial');
  });

  it('reads nothing through links, FIFOs or hard links a task planted, and never blocks', async () => {
    const secret = join(dir, '..', `galaxy-log-secret-${process.pid}`);
    await writeFile(secret, 'TOPSECRET\n');
    try {
      await symlink(secret, join(dir, 'stdout.1'));
      execFileSync('mkfifo', [join(dir, 'stdout.2')]);
      await link(secret, join(dir, 'stdout.3'));
      await symlink(secret, join(dir, 'stderr'));
      await writeFile(join(dir, 'stdout'), 'mine\n');
      expect((await drain('')).text).toBe('mine\n');
      const err = await readLogChunk(dir, request({ stream: 'stderr' }));
      expect(err.data.length).toBe(0);
    } finally {
      await rm(secret, { force: true });
    }
  });
});

describe('readLogChunk while the writer rotates', () => {
  it('opens a listing that holds together when a rotation lands between its opens', async () => {
    // The writer as logs.c rotates (stdout.1 -> stdout.2, stdout -> stdout.1, a new stdout), one
    // step a turn of the event loop, started 0-14 turns into a read so that its steps land between
    // the reader's own asynchronous opens. The follower is caught up before each round and three
    // files are kept, so no output is ever rotated away: every line must come once, in order.
    const name = (k: number) => join(dir, k === 0 ? 'stdout' : `stdout.${k}`);
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const rotate = async (after: number) => {
      for (let k = 0; k < after; k++) await turn();
      if (existsSync(name(1))) renameSync(name(1), name(2));
      await turn();
      renameSync(name(0), name(1));
      await turn();
      appendFileSync(name(0), '');
    };
    let written = '';
    let read = '';
    let gaps = 0;
    let cursor = '';
    const take = (chunk: { data: Buffer; cursor: string; gap: boolean }) => {
      read += chunk.data.toString();
      cursor = chunk.cursor;
      if (chunk.gap) gaps += 1;
      return chunk.data.length > 0;
    };
    appendFileSync(name(0), '');
    for (let round = 0; round < 90; round++) {
      for (let k = 0; k < 3; k++) {
        const line = `line ${round}.${k}\n`;
        appendFileSync(name(0), line);
        written += line;
      }
      const [chunk] = await Promise.all([readLogChunk(dir, request({ cursor })), rotate(round % 15)]);
      take(chunk);
      while (take(await readLogChunk(dir, request({ cursor }))));
    }
    expect(gaps).toBe(0);
    expect(read).toBe(written);
  });
});
