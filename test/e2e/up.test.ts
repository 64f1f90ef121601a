/**
 * The README's first command: `galaxy up` runs a whole cluster, prints `ready` once the example
 * framework's tasks have run, serves operator calls, and stops cleanly on Ctrl-C.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { autoIsolation } from '../../cli/up.js';
import { galaxy, stopAll } from '../helpers/processes.js';

let workDir = '';

afterEach(async () => {
  await stopAll();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('galaxy up', () => {
  it('runs the example to completion, prints ready, answers the CLI, and exits 0 on SIGINT', async () => {
    workDir = await mkdtemp(join(tmpdir(), 'galaxy-up-'));
    const up = galaxy(['up', '--listen', '127.0.0.1:0', '--work-dir', workDir, '--tasks', '3'], {
      GALAXY_LOG_LEVEL: 'warn',
    });
    const ready = await up.lines.waitFor((l) => l.startsWith('ready'), 30_000, 'the ready line');
    expect(ready).toMatch(/3 finished, 0 failed/);
    // As root on a machine with cgroups, the embedded cluster runs real containers.
    const mode = autoIsolation() === '' ? 'plain processes' : 'Linux containers';
    expect(up.lines.items.some((l) => l.includes(`tasks run as ${mode}`))).toBe(true);
    const address = /master (\S+),/.exec(ready)?.[1] ?? '';
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);

    const tasks = galaxy(['tasks', '--master', address, '-o', 'json']);
    expect(await tasks.exited).toBe(0);
    const listed = JSON.parse(tasks.lines.items.join('\n')) as { taskId: string; state: number }[];
    expect(listed).toHaveLength(3);

    // Each task wrote to its own sandbox.
    const sandboxes = await readdir(join(workDir, 'agent', 'sandboxes'), { recursive: true });
    expect(sandboxes.filter((p) => p.endsWith('stdout'))).toHaveLength(3);

    expect(await up.stop('SIGINT', 10_000)).toBe(0);
  });

  it('refuses an unknown allocator with a coded error naming it', async () => {
    const bad = galaxy(['master', '--listen', '127.0.0.1:0', '--allocator', 'fairest-of-all']);
    expect(await bad.exited).toBe(2);
    expect(bad.lines.items.join('\n')).toMatch(/GALAXY_E_PLUGIN_LOAD: no built-in allocator named "fairest-of-all"/);
  });

  it('refuses a bad flag with a clear error and exit code 2', async () => {
    const bad = galaxy(['up', '--tasks', 'many']);
    const line = await bad.lines.waitFor((l) => l.includes('GALAXY_E_INVALID_ARGUMENT'), 10_000, 'the error');
    expect(line).toContain('--tasks');
    expect(await bad.exited).toBe(2);
  });
});
