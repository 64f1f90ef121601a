/**
 * The local backend across real processes: a second `node` process (running the built
 * `dist/core/coordinator/local.js`) shares the directory. Its crash must release its ephemeral
 * keys and its leadership, compare-and-set from two processes must never lose an update, and a
 * write it makes just after a watch started, before the watch's first scan, must be reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventually, MessageLog } from '../../test/helpers/async-queue.js';
import type { KeyChange } from './coordinator.js';
import { LocalCoordinator } from './local.js';

const BUILT = fileURLToPath(new URL('../../dist/core/coordinator/local.js', import.meta.url));

/** The second process: `hold` joins and leads, then waits to be killed; `count` increments by CAS. */
const CHILD = `
import { LocalCoordinator } from ${JSON.stringify(pathToFileURL(BUILT).href)};
const [dir, mode, times] = process.argv.slice(2);
const coord = await LocalCoordinator.open(dir);
if (mode === 'hold') {
  await coord.putEphemeral('/members/child', String(process.pid));
  await coord.elect('/leader', 'child');
  console.log('ready');
  setInterval(() => undefined, 1000);
} else if (mode === 'put-on-go') {
  // Writes /watched/k once the file <times> (a path here) appears, then writes <times>.done.
  const { existsSync, writeFileSync } = await import('node:fs');
  console.log('ready');
  while (!existsSync(times)) await new Promise((r) => setTimeout(r, 2));
  await coord.put('/watched/k', 'v');
  writeFileSync(times + '.done', '');
  await coord.close();
} else {
  for (let i = 0; i < Number(times); i += 1) {
    for (;;) {
      const current = await coord.get('/counter');
      try {
        await coord.put('/counter', String(Number(current.value) + 1), { expectedVersion: current.version });
        break;
      } catch (error) {
        if (error.code !== 'GALAXY_E_COORD_CONFLICT') throw error;
      }
    }
  }
  await coord.close();
}
`;

describe('LocalCoordinator across processes', () => {
  let dir: string;
  let script: string;
  const children: ChildProcess[] = [];
  const sessions: LocalCoordinator[] = [];

  beforeAll(() => {
    if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
  });

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'galaxy-coord-proc-'));
    script = join(dir, 'child.mjs');
    await writeFile(script, CHILD);
  });

  afterEach(async () => {
    for (const child of children.splice(0))
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });

  /** Starts the second process; its output lines go to the returned log. */
  function child(...args: string[]): { proc: ChildProcess; lines: MessageLog<string>; exited: Promise<unknown> } {
    const proc = spawn(process.execPath, [script, join(dir, 'coord'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(proc);
    const lines = new MessageLog<string>();
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line) lines.push(line);
    });
    return { proc, lines, exited: once(proc, 'exit') };
  }

  async function open(): Promise<LocalCoordinator> {
    const session = await LocalCoordinator.open(join(dir, 'coord'));
    sessions.push(session);
    return session;
  }

  it('a SIGKILLed process loses its ephemeral keys and its leadership', async () => {
    const other = child('hold');
    await other.lines.waitFor((l) => l === 'ready', 10_000, 'the child to lead');
    const coord = await open();
    expect(await coord.get('/members/child')).toEqual({ value: String(other.proc.pid), version: 0 });
    expect(await coord.leader('/leader')).toBe('child');
    const seen: KeyChange[] = [];
    coord.watch('/members', (c) => seen.push(c));
    const leading = coord.elect('/leader', 'parent');
    await new Promise((r) => setTimeout(r, 300));
    expect(await coord.leader('/leader')).toBe('child');

    const killedAt = Date.now();
    other.proc.kill('SIGKILL');
    await other.exited;
    const lead = await leading;
    expect(Date.now() - killedAt).toBeLessThan(3000);
    expect(await coord.leader('/leader')).toBe('parent');
    expect(await coord.get('/members/child')).toBeUndefined();
    expect(await coord.list('/members')).toEqual([]);
    expect(seen).toContainEqual({ key: '/members/child', value: undefined });
    await lead.resign();
  });

  it('compare-and-set increments from two processes never lose an update', async () => {
    const coord = await open();
    await coord.put('/counter', '0');
    const times = 60;
    const workers = [child('count', String(times)), child('count', String(times))];
    const codes = await Promise.all(workers.map((w) => w.exited.then(() => w.proc.exitCode)));
    expect(codes).toEqual([0, 0]);
    expect(await coord.get('/counter')).toEqual({ value: String(2 * times), version: 2 * times });
  });

  it('reports a write made by another process after a watch started but before its first scan', async () => {
    const go = join(dir, 'go');
    const writer = child('put-on-go', go);
    await writer.lines.waitFor((l) => l === 'ready', 10_000, 'the writer');
    const coord = await open();
    const seen = new MessageLog<KeyChange>();
    coord.watch('/watched', (c) => {
      seen.push(c);
    });
    // Hold this event loop, so the watch's first scan cannot run, until the other process has written.
    writeFileSync(go, '');
    const deadline = Date.now() + 10_000;
    while (!existsSync(`${go}.done`) && Date.now() < deadline) {
      // busy wait: nothing of this process may run meanwhile
    }
    expect(existsSync(`${go}.done`)).toBe(true);
    const change = await seen.waitFor((c) => c.key === '/watched/k', 3000, 'the change to be reported');
    expect(change.value).toBe('v');
  });

  it("breaks a lock left by a zombie and ignores the zombie's ephemeral keys", async () => {
    // `sleep 30` does not reap the backgrounded `sleep 0.2`, which stays a zombie, as it would under a pid 1 that does not reap.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    const lines = new MessageLog<string>();
    parent.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      lines.push(chunk.trim());
    });
    const zombie = Number(await lines.waitFor((l) => /^\d+$/.test(l), 5000, 'the zombie pid'));
    const stat = await eventually(
      async () => {
        const text = await readFile(`/proc/${zombie}/stat`, 'utf8').catch(() => '');
        return text.slice(text.lastIndexOf(')') + 2).startsWith('Z') && text;
      },
      5000,
      'the zombie state',
    );
    const owner = { pid: zombie, start: stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19], session: 'gone' };
    const coordDir = join(dir, 'coord');
    await mkdir(join(coordDir, 'tree', 'members', 'z'), { recursive: true });
    await writeFile(join(coordDir, 'lock'), JSON.stringify({ ...owner, nonce: 'n' }));
    await writeFile(
      join(coordDir, 'tree', 'members', 'z', '#value'),
      JSON.stringify({ value: 'z', version: 0, stamp: 1, owner }),
    );

    const coord = await open();
    const started = Date.now();
    expect(await coord.put('/after', 'x')).toBe(0);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await coord.list('/members')).toEqual([]);
    expect(await coord.get('/members/z')).toBeUndefined();
  });
});
