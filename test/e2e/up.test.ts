/**
 * The README's first command: `galaxy up` runs a whole cluster with the AppMaster, deploys the
 * example service, prints `ready` once its replicas are healthy, answers the CLI (operator verbs,
 * `galaxy job`, `galaxy resolve`), and stops cleanly on Ctrl-C leaving no pod behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { autoIsolation } from '../../cli/up.js';
import { galaxy, processesWithEnv, stopAll } from '../helpers/processes.js';
import { readyAddresses, upArgs } from '../helpers/up-args.js';

let workDir = '';

afterEach(async () => {
  await stopAll();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe('galaxy up', () => {
  it('deploys the example service, prints ready, answers the CLI, and exits 0 on SIGINT', async () => {
    workDir = await mkdtemp(join(tmpdir(), 'galaxy-up-'));
    const up = galaxy(upArgs(workDir, 2), { GALAXY_LOG_LEVEL: 'warn' });
    const ready = await up.lines.waitFor((l) => l.startsWith('ready'), 60_000, 'the ready line');
    expect(ready).toMatch(/job hello 2\/2 healthy \(version 1\.0\.0\)/);
    // The web console's URL, and the token to log in with.
    const served = /^ready: console (http:\/\/127\.0\.0\.1:\d+\/) \(token: (\S+)\)/.exec(ready);
    expect(served?.[2]).toMatch(/admin\.token$/);
    expect((await fetch(served?.[1] ?? '')).headers.get('content-type')).toMatch(/text\/html/);
    // As root on a machine with cgroups, the embedded cluster runs real containers.
    const mode = autoIsolation() === '' ? 'plain processes' : 'Linux containers';
    expect(up.lines.items.some((l) => l.includes(`pods run as ${mode}`))).toBe(true);
    const { master, appmaster } = readyAddresses(ready);
    expect(master).toMatch(/^127\.0\.0\.1:\d+$/);

    // The example answers on the ports `galaxy up` printed.
    const ports = [...ready.matchAll(/:(\d+)(?= |\.)/g)].map((m) => Number(m[1])).filter((p) => p >= 31000);
    expect(ports).toHaveLength(2);
    for (const port of ports) {
      const answer = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { version: string };
      expect(answer.version).toBe('1.0.0');
    }

    // Every server authenticates; `galaxy up` wrote the admin token to <work dir>/admin.token.
    expect(up.lines.items).toContain(`admin token: ${join(workDir, 'admin.token')}`);
    const asAdmin = { GALAXY_TOKEN_FILE: join(workDir, 'admin.token') };
    const tasks = galaxy(['tasks', '--master', master, '-o', 'json'], asAdmin);
    expect(await tasks.exited).toBe(0);
    expect(JSON.parse(tasks.lines.items.join('\n'))).toHaveLength(2);

    const show = galaxy(['job', 'show', 'hello', '-a', appmaster], asAdmin);
    expect(await show.exited).toBe(0);
    expect(show.lines.items.join('\n')).toMatch(/hello-0 .* running .* healthy/);

    const resolved = galaxy(['resolve', 'hello', '--coordinator', `local:${join(workDir, 'coord')}`, '-o', 'json']);
    expect(await resolved.exited).toBe(0);
    expect(JSON.parse(resolved.lines.items.join('\n'))).toHaveLength(2);

    expect(await up.stop('SIGINT', 20_000)).toBe(0);
    expect(processesWithEnv(`GALAXY_SANDBOX=${join(workDir, 'agent')}`)).toEqual([]);
  });

  it('refuses an unknown allocator with a coded error naming it', async () => {
    const bad = galaxy(['master', '--listen', '127.0.0.1:0', '--allocator', 'fairest-of-all']);
    expect(await bad.exited).toBe(2);
    expect(bad.lines.items.join('\n')).toMatch(/GALAXY_E_PLUGIN_LOAD: no built-in allocator named "fairest-of-all"/);
  });

  it('refuses a bad flag with a clear error and exit code 2', async () => {
    const bad = galaxy(['up', '--replicas', 'many']);
    const line = await bad.lines.waitFor((l) => l.includes('GALAXY_E_INVALID_ARGUMENT'), 10_000, 'the error');
    expect(line).toContain('--replicas');
    expect(await bad.exited).toBe(2);
  });

  it('validates job specs offline with the path and line of each error', async () => {
    const ok = galaxy(['job', 'validate', join('examples', 'hello-service', 'job.yaml')]);
    expect(await ok.exited).toBe(0);
    expect(ok.lines.items.join('\n')).toMatch(/ok .*job hello, 3 replicas/);
    workDir = await mkdtemp(join(tmpdir(), 'galaxy-validate-'));
    const file = join(workDir, 'bad.yaml');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, 'name: web\nreplicas: -1\nresources: {}\n');
    const bad = galaxy(['job', 'validate', file]);
    expect(await bad.exited).toBe(2);
    expect(bad.lines.items.join('\n')).toMatch(/bad\.yaml:2:\d+: replicas: .*>=0/);
  });
});
