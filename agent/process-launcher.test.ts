/**
 * The plain-process launcher against real processes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Limits, type CommandInfo } from '../proto/gen/galaxy/v1/common.js';
import { ProcessLauncher } from './process-launcher.js';
import type { LaunchedProcess } from './launcher.js';
import { isAlive } from '../test/helpers/processes.js';

let sandbox = '';
const started: LaunchedProcess[] = [];
beforeEach(async () => {
  sandbox = await mkdtemp(join(tmpdir(), 'galaxy-launcher-'));
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((p) => p.kill(0)));
  await rm(sandbox, { recursive: true, force: true });
});

async function launch(command: Partial<CommandInfo>, env: Record<string, string> = {}): Promise<LaunchedProcess> {
  const p = await new ProcessLauncher().launch({
    containerId: 'c1',
    resources: { cpus: 100, mem: 0, disk: 0, gpus: 0, ports: [] },
    limits: Limits.create(),
    command: { shell: '', argv: [], env: {}, user: '', ...command },
    sandbox,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdoutPath: join(sandbox, 'stdout'),
    stderrPath: join(sandbox, 'stderr'),
  });
  started.push(p);
  return p;
}

describe('ProcessLauncher', () => {
  it('runs a shell command in the sandbox with its environment, output to files', async () => {
    const p = await launch({ shell: 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 3' }, { GREETING: 'hello' });
    expect(await p.exited).toEqual({ code: 3, signal: null });
    expect(await readFile(join(sandbox, 'stdout'), 'utf8')).toBe(`hello from ${sandbox}\n`);
    expect(await readFile(join(sandbox, 'stderr'), 'utf8')).toBe('oops\n');
  });

  it('execs argv directly and refuses a missing binary with a coded error', async () => {
    const p = await launch({ argv: ['/bin/echo', 'a b'] });
    expect((await p.exited).code).toBe(0);
    expect(await readFile(join(sandbox, 'stdout'), 'utf8')).toBe('a b\n');
    await expect(launch({ argv: ['/no/such/binary'] })).rejects.toMatchObject({ code: 'GALAXY_E_LAUNCH_FAILED' });
    await expect(launch({ shell: 'true', user: 'no-such-user-galaxy' })).rejects.toMatchObject({
      code: 'GALAXY_E_LAUNCH_FAILED',
    });
  });

  it('kills with SIGTERM, and with SIGKILL after the grace when SIGTERM is ignored', async () => {
    const polite = await launch({ shell: 'exec sleep 30' });
    const t0 = Date.now();
    expect((await polite.kill(5000)).signal).toBe('SIGTERM');
    expect(Date.now() - t0).toBeLessThan(2000);

    const stubborn = await launch({ shell: "trap '' TERM; echo ready; while true; do sleep 0.05; done" });
    await new Promise((r) => setTimeout(r, 200)); // let the trap be installed
    const t1 = Date.now();
    expect((await stubborn.kill(300)).signal).toBe('SIGKILL');
    expect(Date.now() - t1).toBeGreaterThanOrEqual(250);
  });

  it('kills the whole process group, not only its leader', async () => {
    const p = await launch({ shell: 'sleep 30 & echo $! > child.pid; wait' });
    await new Promise((r) => setTimeout(r, 200));
    const child = Number((await readFile(join(sandbox, 'child.pid'), 'utf8')).trim());
    await p.kill(1000);
    await new Promise((r) => setTimeout(r, 100));
    expect(isAlive(child)).toBe(false);
  });
});
