/**
 * The agent's spawner of helpers (`galaxy-init --spawner`, native/spawner.c): real processes
 * forked by the real binary, with stand-in helpers (shell commands that speak the helper's
 * protocol on descriptors 3 and 4), so no root is needed.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../core/testing/async-queue.js';
import { requireNativeHelper } from './native-helper.js';
import { encodeSpawnRequest, HelperSpawner, type SpawnRequest } from './spawner.js';

let dir: string;
let spawner: HelperSpawner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'galaxy-spawner-'));
  spawner = new HelperSpawner(requireNativeHelper());
});

afterAll(async () => {
  await spawner.close();
  await rm(dir, { recursive: true, force: true });
});

/** The pid of a process whose working directory is `cwd` (undefined: none yet). */
function processIn(cwd: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === cwd) return Number(entry);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return undefined;
}

function request(script: string, extra: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    argv: ['/bin/sh', '-c', script],
    cwd: dir,
    helperEnv: { PATH: '/usr/bin:/bin', HELPER_ONLY: 'h' },
    taskEnv: { TASK_ONLY: 't', SPACED: 'a b=c' },
    stdoutPath: join(dir, 'stdout'),
    stderrPath: join(dir, 'stderr'),
    ...extra,
  };
}

describe('the helper spawner', () => {
  it('encodes a request as tagged NUL-terminated fields ended by an empty one, refusing NUL in values', () => {
    const encoded = encodeSpawnRequest('7', { ...request('true'), taskEnv: { A: '1' }, helperEnv: {} });
    expect(encoded).toBe(
      `T7\0D${dir}\0O${join(dir, 'stdout')}\0E${join(dir, 'stderr')}\0VA=1\0A/bin/sh\0A-c\0Atrue\0\0`,
    );
    expect(() => encodeSpawnRequest('8', request('true', { taskEnv: { A: 'x\0y' } }))).toThrow(/NUL/);
  });

  it("starts a helper with the helper's environment, the task's on descriptor 4, output to the files, in its own session", async () => {
    const helper = await spawner.spawn(
      request(
        'echo "helper=$HELPER_ONLY task=${TASK_ONLY:-none} pwd=$(pwd)"; tr "\\0" "\\n" <&4 >&2; ' +
          'test "$(ps -o sid= -p $$)" -eq $$ && echo own-session; echo "ok $$" >&3; exit 3',
      ),
    );
    expect(helper.report).toBe(`ok ${helper.pid}`);
    expect(await helper.exited).toEqual({ code: 3, signal: null });
    const out = await readFile(join(dir, 'stdout'), 'utf8');
    expect(out).toContain(`helper=h task=none pwd=${dir}`);
    expect(out).toContain('own-session');
    expect((await readFile(join(dir, 'stderr'), 'utf8')).split('\n')).toEqual(
      expect.arrayContaining(['TASK_ONLY=t', 'SPACED=a b=c']),
    );
    expect((await stat(join(dir, 'stdout'))).mode & 0o777).toBe(0o644);
  });

  it('relays an error report, a silent end, a signal, and a program that cannot start', async () => {
    const failed = await spawner.spawn(request('echo "error no such mount" >&3; exit 125'));
    expect(failed.report).toBe('error no such mount');
    expect(await failed.exited).toEqual({ code: 125, signal: null });

    const silent = await spawner.spawn(request('exit 0'));
    expect(silent.report).toBe('');

    const killed = await spawner.spawn(request('echo "ok $$" >&3; exec 3>&-; kill -KILL $$'));
    expect(await killed.exited).toEqual({ code: null, signal: 'SIGKILL' });

    const missing = await spawner.spawn({ ...request(''), argv: [join(dir, 'no-such-helper')] });
    expect(missing.report).toMatch(/^error cannot start .*no-such-helper: No such file/);
    expect(await missing.exited).toEqual({ code: 127, signal: null });
  });

  it('tells of a helper\'s "set" as it comes, before and apart from its report, and of one "set" only', async () => {
    // The helper says "set", then waits for the test to see it before it reports.
    const go = join(dir, 'go');
    let setUps = 0;
    let seen!: () => void;
    const setUp = new Promise<void>((resolve) => (seen = resolve));
    const spawned = spawner.spawn(
      request(`echo set >&3; while ! test -e ${go}; do sleep 0.01; done; echo set >&3; echo "ok $$" >&3`, {
        onSetUp: () => {
          setUps += 1;
          seen();
        },
      }),
    );
    await setUp;
    await writeFile(go, '');
    const helper = await spawned;
    expect(setUps).toBe(1);
    // A second "set" is no longer at the head of the report: it stays in it (the helper never sends two).
    expect(helper.report).toBe('set');
    expect(await helper.exited).toEqual({ code: 0, signal: null });

    const plain = await spawner.spawn(request('echo set >&3; echo "ok $$" >&3', { onSetUp: () => (setUps += 1) }));
    expect(plain.report).toBe(`ok ${plain.pid}`);
    expect(setUps).toBe(2);
  });

  it('refuses to follow a symlink for the output files', async () => {
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/hostname', join(dir, 'link'));
    const helper = await spawner.spawn(request('echo "ok $$" >&3', { stdoutPath: join(dir, 'link') }));
    expect(helper.report).toMatch(/^error cannot open the task's output files/);
  });

  it("runs a request for its own binary in the fork, without an exec, showing on the host as if exec'd", async () => {
    // The helper blocks opening a FIFO as its --join file until we read it: time to look at it.
    const cwd = await mkdtemp(join(dir, 'in-fork-'));
    const fifo = join(cwd, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const argv = [requireNativeHelper(), '--join', fifo, '--root', join(cwd, 'missing'), '--caps', '0'];
    const spawned = spawner.spawn({ ...request(''), cwd, argv: [...argv, '--report-fd', '3', '--', 'true'] });
    const pid = await eventually(() => processIn(cwd), 5000, 'the helper in its directory');
    // Not exec'd: the same stack as its parent, the spawner (an exec gets a new, randomized one).
    const parent = /^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${pid}/stat`, 'latin1'))?.[1];
    const stack = (p: string | number) =>
      readFileSync(`/proc/${p}/maps`, 'latin1')
        .split('\n')
        .find((l) => l.endsWith('[stack]'));
    expect(stack(pid)).toBe(stack(parent ?? ''));
    // Yet on the host it shows its own command line and environment, as an exec'd helper did.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').slice(0, argv.length)).toEqual(argv);
    expect(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')).toContain('HELPER_ONLY=h');
    const reader = await open(fifo, 'r');
    const helper = await spawned;
    await reader.close();
    expect(helper.pid).toBe(pid);
    expect(helper.report).toMatch(/^error cannot mount the root tmpfs/);
    expect(await helper.exited).toEqual({ code: 125, signal: null });
  });

  it('starts many at once, each report and exit to its own request', async () => {
    const helpers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => spawner.spawn(request(`echo "ok ${i}" >&3; exit ${i}`))),
    );
    expect(helpers.map((h) => h.report)).toEqual(helpers.map((_, i) => `ok ${i}`));
    expect((await Promise.all(helpers.map((h) => h.exited))).map((e) => e?.code)).toEqual(helpers.map((_, i) => i));
  });

  it('leaves its helpers running when it ends: their exits are then unknown to it', async () => {
    const own = new HelperSpawner(requireNativeHelper());
    const helper = await own.spawn(request('echo "ok $$" >&3; exec 3>&-; sleep 1'));
    expect(helper.report).toMatch(/^ok /);
    await own.close();
    expect(await helper.exited).toBeUndefined();
    expect(() => process.kill(helper.pid, 0)).not.toThrow(); // still running, adopted by init
    process.kill(helper.pid, 'SIGKILL');
    // The next request starts a new spawner.
    const again = await own.spawn(request('echo "ok $$" >&3'));
    expect(again.report).toBe(`ok ${again.pid}`);
    await own.close();
  });
});
