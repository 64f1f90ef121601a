/**
 * A torn or empty record never keeps a daemon from starting, and is reported with its path: a
 * `galaxy master` whose local coordinator holds an empty key file, a garbled stamp file and a
 * stored value nobody can read starts, leads and answers; a `galaxy agent` whose checkpoints hold
 * an empty task file and a garbled agent id starts and registers. Real processes throughout.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCoordinator } from '../../core/coordinator/index.js';
import { UserStore } from '../../core/tenancy/users.js';
import { eventually } from '../helpers/async-queue.js';
import { GALAXY_BIN, galaxy, killWithEnv, stopAll } from '../helpers/processes.js';

let base = '';
let admin = '';
let address = '';

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'galaxy-torn-'));
  const coordinator = await openCoordinator(`local:${join(base, 'coord')}`);
  const users = await UserStore.open(coordinator);
  admin = (await users.add('admin', { admin: true })).token;
  users.close();
  await coordinator.put('/galaxy/master/weights', '[{"role":"eng","weight":2}]');
  await coordinator.put('/galaxy/tenancy/pools/gpu', '{"name":"gpu"}');
  await coordinator.close();
});

afterAll(async () => {
  await stopAll();
  killWithEnv(`GALAXY_SANDBOX=${join(base, 'agent')}`);
  if (base) await rm(base, { recursive: true, force: true, maxRetries: 5 });
});

function agents(): { info?: { id: string; hostname: string } }[] {
  const out = execFileSync(process.execPath, [GALAXY_BIN, 'agents', '--master', address, '-o', 'json'], {
    env: { ...process.env, GALAXY_TOKEN: admin, GALAXY_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
  });
  return JSON.parse(out) as { info?: { id: string; hostname: string } }[];
}

describe('torn records', { timeout: 60_000 }, () => {
  it('a master starts on a coordinator with an empty key file, a garbled stamp and an unreadable value', async () => {
    const tree = join(base, 'coord', 'tree');
    const weights = join(tree, 'galaxy', 'master', 'weights', '#value');
    await writeFile(weights, '');
    await writeFile(join(base, 'coord', 'stamp'), 'garbage');
    // A record that is whole, holding a value that is not what the master wrote.
    await writeFile(
      join(tree, 'galaxy', 'tenancy', 'pools', 'gpu', '#value'),
      JSON.stringify({ value: '{"name": "gp', version: 0, stamp: 1 }),
    );
    const master = galaxy(['master', '--listen', '127.0.0.1:0', '--coordinator', `local:${join(base, 'coord')}`], {
      GALAXY_TOKEN: admin,
    });
    const line = await master.lines.waitFor((l) => l.includes('"master started"'), 30_000, 'the master to start');
    address = (JSON.parse(line) as { address: string }).address;
    await master.lines.waitFor((l) => l.includes(weights) && l.includes('is torn'), 5000, 'the empty key reported');
    await master.lines.waitFor((l) => l.includes(join(base, 'coord', 'stamp')), 5000, 'the torn stamp reported');
    await master.lines.waitFor(
      (l) => l.includes('/galaxy/tenancy/pools/gpu') && l.includes('cannot be read'),
      5000,
      'the unreadable value reported',
    );
    expect(agents()).toEqual([]);
  });

  it('an agent starts on checkpoints with an empty task file and a garbled agent id, and registers', async () => {
    const workDir = join(base, 'agent');
    const tasks = join(workDir, 'meta', 'tasks', 'fw-gone');
    await mkdir(tasks, { recursive: true });
    await writeFile(join(tasks, 'task-1.json'), '');
    await writeFile(join(workDir, 'meta', 'agent-id'), '\u0000\u0000');
    const agent = galaxy(
      [
        'agent',
        '--master',
        address,
        '--work-dir',
        workDir,
        '--resources',
        'cpus:1;mem:1GiB',
        '--hostname',
        'torn-host',
        // Containers: an agent that runs them reads its task checkpoints when it starts.
        '--isolation',
        'pids',
        '--cgroup-root',
        `galaxy-torn-test-${process.pid}`,
      ],
      { GALAXY_TOKEN: admin },
    );
    await eventually(() => agents().some((a) => a.info?.hostname === 'torn-host'), 20_000, 'the agent to register');
    // Logs arrive through a pipe: wait for the lines rather than look once.
    await agent.lines.waitFor(
      (l) => l.includes(join(tasks, 'task-1.json')) && l.includes('the file is empty'),
      5000,
      'the torn task checkpoint reported',
    );
    await agent.lines.waitFor((l) => l.includes(join(workDir, 'meta', 'agent-id')), 5000, 'the torn agent id reported');
    expect(await agent.stop('SIGTERM', 10_000)).toBe(0);
  });
});
